/*
 * A glibc NSS module for the test sandboxes: serves users, groups and shadow entries from plain files
 * in passwd(5), group(5) and shadow(5) format, as Posit Workbench's `pwb` module serves the users its
 * user service provisions. Our own code (no third-party source), built by test/sandbox/build-tools.sh
 * twice from this file:
 *   libnss_pwb.so.2  MODULE=pwb, files /var/lib/standin/nss/pwb.{passwd,group,shadow}
 *                    (stand-in for Workbench's module, installed where Workbench installs it)
 *   libnss_sss.so.2  MODULE=sss, files /var/lib/standin/nss/sss.{passwd,group,shadow}
 *                    (stand-in for SSSD's module: a directory source that may serve a conflicting entry)
 *
 * The interface is glibc's, as its manual describes it ("Adding another Service to NSS", section
 * "NSS Module Function Internals": https://www.gnu.org/software/libc/manual/html_node/NSS-Module-Function-Internals.html):
 * _nss_<module>_<function>_r(..., struct X *result, char *buffer, size_t buflen, int *errnop) returning an
 * enum nss_status; a buffer too small gives NSS_STATUS_TRYAGAIN with *errnop = ERANGE (glibc then retries
 * with a larger one); a missing entry NSS_STATUS_NOTFOUND; a missing file NSS_STATUS_UNAVAIL (the next
 * source is asked). The set/get/end functions enumerate (getent passwd with no key).
 * The files are read on every call, so an entry added to a file resolves at once (as Workbench's
 * module asks its user service on every call); only nscd, when it caches, can hide it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#ifndef MODULE
#error "build with -DMODULE=pwb or -DMODULE=sss"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT3(a, b, c) a##b##c
#define NSS_FN(module, fn) CAT3(_nss_, module, _##fn)
#define FN(fn) NSS_FN(MODULE, fn)
#define DIR "/var/lib/standin/nss/" STR(MODULE)

static FILE *open_db(const char *path, int *errnop) {
    FILE *f = fopen(path, "re");
    if (f == NULL) *errnop = errno;
    return f;
}

/*
 * One lookup: reads FILE until MATCH says yes. READ is fgetpwent_r, fgetgrent_r or fgetspent_r (glibc's
 * parsers of the same formats; they return ERANGE when the buffer is too small, ENOENT at the end).
 */
#define LOOKUP(type, path, read, match)                                               \
    do {                                                                              \
        FILE *f = open_db(path, errnop);                                              \
        if (f == NULL) return NSS_STATUS_UNAVAIL;                                     \
        struct type *entry;                                                           \
        int rc;                                                                       \
        enum nss_status status = NSS_STATUS_NOTFOUND;                                 \
        while ((rc = read(f, result, buffer, buflen, &entry)) == 0) {                 \
            if (match) { status = NSS_STATUS_SUCCESS; break; }                        \
        }                                                                             \
        if (rc == ERANGE) { *errnop = ERANGE; status = NSS_STATUS_TRYAGAIN; }         \
        else if (status == NSS_STATUS_NOTFOUND) *errnop = ENOENT;                     \
        fclose(f);                                                                    \
        return status;                                                                \
    } while (0)

enum nss_status FN(getpwnam_r)(const char *name, struct passwd *result, char *buffer, size_t buflen, int *errnop) {
    LOOKUP(passwd, DIR ".passwd", fgetpwent_r, strcmp(entry->pw_name, name) == 0);
}

enum nss_status FN(getpwuid_r)(uid_t uid, struct passwd *result, char *buffer, size_t buflen, int *errnop) {
    LOOKUP(passwd, DIR ".passwd", fgetpwent_r, entry->pw_uid == uid);
}

enum nss_status FN(getgrnam_r)(const char *name, struct group *result, char *buffer, size_t buflen, int *errnop) {
    LOOKUP(group, DIR ".group", fgetgrent_r, strcmp(entry->gr_name, name) == 0);
}

enum nss_status FN(getgrgid_r)(gid_t gid, struct group *result, char *buffer, size_t buflen, int *errnop) {
    LOOKUP(group, DIR ".group", fgetgrent_r, entry->gr_gid == gid);
}

enum nss_status FN(getspnam_r)(const char *name, struct spwd *result, char *buffer, size_t buflen, int *errnop) {
    LOOKUP(spwd, DIR ".shadow", fgetspent_r, strcmp(entry->sp_namp, name) == 0);
}

/* Enumeration: one open file per database, shared by the process's threads (as glibc's own files module). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *pw_stream, *gr_stream;

static enum nss_status set_stream(FILE **stream, const char *path) {
    enum nss_status status = NSS_STATUS_SUCCESS;
    pthread_mutex_lock(&lock);
    if (*stream != NULL) rewind(*stream);
    else if ((*stream = fopen(path, "re")) == NULL) status = NSS_STATUS_UNAVAIL;
    pthread_mutex_unlock(&lock);
    return status;
}

static enum nss_status end_stream(FILE **stream) {
    pthread_mutex_lock(&lock);
    if (*stream != NULL) fclose(*stream);
    *stream = NULL;
    pthread_mutex_unlock(&lock);
    return NSS_STATUS_SUCCESS;
}

/* The next entry; an entry that does not fit is read again with the larger buffer glibc retries with. */
#define NEXT(type, stream, path, read)                                                \
    do {                                                                              \
        struct type *entry;                                                           \
        enum nss_status status = NSS_STATUS_SUCCESS;                                  \
        pthread_mutex_lock(&lock);                                                    \
        if (stream == NULL && (stream = fopen(path, "re")) == NULL) {                 \
            *errnop = errno;                                                          \
            status = NSS_STATUS_UNAVAIL;                                              \
        } else {                                                                      \
            long at = ftell(stream);                                                  \
            int rc = read(stream, result, buffer, buflen, &entry);                    \
            if (rc == ERANGE) {                                                       \
                fseek(stream, at, SEEK_SET);                                          \
                *errnop = ERANGE;                                                     \
                status = NSS_STATUS_TRYAGAIN;                                         \
            } else if (rc != 0) {                                                     \
                *errnop = ENOENT;                                                     \
                status = NSS_STATUS_NOTFOUND;                                         \
            }                                                                         \
        }                                                                             \
        pthread_mutex_unlock(&lock);                                                  \
        return status;                                                                \
    } while (0)

enum nss_status FN(setpwent)(int stayopen) { (void)stayopen; return set_stream(&pw_stream, DIR ".passwd"); }
enum nss_status FN(endpwent)(void) { return end_stream(&pw_stream); }
enum nss_status FN(getpwent_r)(struct passwd *result, char *buffer, size_t buflen, int *errnop) {
    NEXT(passwd, pw_stream, DIR ".passwd", fgetpwent_r);
}

enum nss_status FN(setgrent)(int stayopen) { (void)stayopen; return set_stream(&gr_stream, DIR ".group"); }
enum nss_status FN(endgrent)(void) { return end_stream(&gr_stream); }
enum nss_status FN(getgrent_r)(struct group *result, char *buffer, size_t buflen, int *errnop) {
    NEXT(group, gr_stream, DIR ".group", fgetgrent_r);
}
