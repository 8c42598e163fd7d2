/**
 * The outcome the guide's host changes are for, through the real glibc, Linux-PAM and nscd of a sandbox,
 * on Debian and both RHEL stand-ins. Workbench's NSS module is a real one (test/sandbox/nss, serving
 * /var/lib/standin/nss/pwb.* as Workbench's user service serves provisioned users), and so is a stand-in
 * for SSSD's (libnss_sss.so.2) serving a conflicting entry for the same name.
 *   - before the nscd step nscd caches passwd and group; after it `nscd -g` shows both off, and a user
 *     Workbench adds resolves at once;
 *   - after the run: a provisioned user and group resolve through pwb, ahead of sss's entry; root, the
 *     SSH login user and a local user still resolve from files;
 *   - `pamtester su <user> open_session close_session`: Workbench opens PAM sessions with the `su` profile
 *     unless auth-pam-sessions-profile says otherwise ("PAM Sessions", Posit Workbench Administration Guide:
 *     "by default Posit Workbench uses the /etc/pam.d/su profile",
 *     https://docs.posit.co/ide/server-pro/rstudio_pro_sessions/pam_sessions.html). On Debian the session
 *     creates the home directory (mode 0700 from umask=0077, the skel files); on the RHEL stand-ins `su`
 *     is RHEL's, through authselect's system-auth: the session opens, and its home line is
 *     pam_oddjob_mkhomedir, which talks to oddjobd over D-Bus and is not on the sandbox (not proven here);
 *   - after destroy: pwb's users no longer resolve (the name is sss's again), nothing else changed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { hostValues, removeAll } from "./driver";
import { applyOneByOne, getent, passwdLine, serve, STEPS_IN_ORDER } from "./outcome";

const HOSTS = [
    { os: "debian" as const, authselect: undefined },
    { os: "rocky9" as const, authselect: "sssd with-faillock" },
    { os: "rocky10" as const, authselect: "sssd" },
];

const ALICE = { name: "alice", uid: 20001, gid: 20001, home: "/home/alice" };
const ALICE_SSS = { name: "alice", uid: 30001, gid: 30001, home: "/sss/alice" };
const BOB = { name: "bob", uid: 20002, gid: 20002, home: "/home/bob" };
const LATE = [
    { name: "late1", uid: 20011, gid: 20001, home: "/home/late1" },
    { name: "late2", uid: 20012, gid: 20001, home: "/home/late2" },
];

/** nscd's "cache is enabled" answer for a database, from `nscd -g`. */
async function nscdCaching(sb: Sandbox, db: "passwd" | "group"): Promise<string> {
    const r = await sb.exec("nscd -g");
    expect(r.code, r.stderr).toBe(0);
    const section = r.stdout.split(/\n(?=\S.* cache:)/).find((s) => s.startsWith(`${db} cache:`));
    expect(section, r.stdout).toBeDefined();
    return /^\s*(yes|no)\s+cache is enabled$/m.exec(section!)![1];
}

/** Lines that must not change: the local users and groups (files) as getent gives them. */
const LOCAL = async (sb: Sandbox) =>
    (
        await sb.exec(
            "for u in root admin localuser rstudio-server; do getent passwd $u; done; for g in root admin localuser; do getent group $g; done; id admin",
        )
    ).stdout;

describe.concurrent.each(HOSTS)("outcome on $os", { timeout: 300_000 }, ({ os, authselect }) => {
    let sb: Sandbox;
    let local: string;
    let nsswitch: string;

    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os, authselect, pamServices: os === "debian" ? undefined : "rhel" });
        // An SSSD host: sss after files on the passwd, group and shadow lines (authselect's sssd profile has it on RHEL).
        if (os === "debian") await sb.exec(String.raw`sed -i -E 's/^(passwd|group|shadow):([[:space:]]*)files.*$/\1:\2files sss/' /etc/nsswitch.conf`);
        await sb.exec("useradd --create-home localuser");
        await serve(
            sb,
            "pwb",
            [ALICE, BOB],
            [
                { name: "alice", gid: 20001 },
                { name: "bob", gid: 20002 },
                { name: "wb-analysts", gid: 20100, members: ["alice", "bob"] },
            ],
        );
        await serve(
            sb,
            "sss",
            [ALICE_SSS],
            [
                { name: "alice", gid: 30001 },
                { name: "wb-analysts", gid: 30100 },
            ],
        );
        local = await LOCAL(sb);
        nsswitch = await sb.readFile("/etc/nsswitch.conf");
    });
    afterAll(() => sb?.stop());

    it("before the run: the name is sss's, and glibc loads the real modules", { concurrent: false }, async () => {
        expect((await getent(sb, "passwd", "alice")).line).toBe(passwdLine(ALICE_SSS, "SSSD user"));
        expect((await getent(sb, "passwd", "alice", "pwb")).line).toBe(passwdLine(ALICE));
        expect((await getent(sb, "passwd", "bob")).code).toBe(2);
    });

    it(
        "until the nscd step nscd caches passwd and group; after it, both are off and a user Workbench adds resolves at once",
        { concurrent: false },
        async () => {
            const beforeNscd = STEPS_IN_ORDER.slice(0, STEPS_IN_ORDER.indexOf("nscd"));
            await applyOneByOne(sb, undefined, beforeNscd);
            expect([await nscdCaching(sb, "passwd"), await nscdCaching(sb, "group")]).toEqual(["yes", "yes"]);
            // Asked once (nscd remembers "not found"), then provisioned: nscd may keep answering "not found".
            expect((await getent(sb, "passwd", "late1")).code).toBe(2);
            await serve(sb, "pwb", [LATE[0]]);
            const cached = await getent(sb, "passwd", "late1");
            await applyOneByOne(sb, undefined, STEPS_IN_ORDER.slice(beforeNscd.length));
            expect([await nscdCaching(sb, "passwd"), await nscdCaching(sb, "group")]).toEqual(["no", "no"]);
            expect((await getent(sb, "passwd", "late2")).code).toBe(2);
            await serve(sb, "pwb", [LATE[1]]);
            expect((await getent(sb, "passwd", "late2")).line).toBe(passwdLine(LATE[1]));
            expect((await getent(sb, "passwd", "late1")).line).toBe(passwdLine(LATE[0]));
            // What nscd answered with caching on (reported, not required: "may not").
            console.log(`${os}: a user provisioned after a lookup, with nscd caching passwd: ${cached.code === 2 ? "not found (cached)" : "found"}`);
        },
    );

    it("after the run: provisioned users and groups resolve through pwb, ahead of sss; local ones from files", { concurrent: false }, async () => {
        expect((await getent(sb, "passwd", "alice")).line).toBe(passwdLine(ALICE));
        expect((await getent(sb, "passwd", "20001")).line).toBe(passwdLine(ALICE));
        expect((await getent(sb, "passwd", "bob")).line).toBe(passwdLine(BOB));
        expect((await getent(sb, "group", "wb-analysts")).line).toBe("wb-analysts:x:20100:alice,bob");
        expect((await getent(sb, "group", "20100")).line).toBe("wb-analysts:x:20100:alice,bob");
        expect((await getent(sb, "shadow", "alice")).line).toBe("alice:!:20000:0:99999:7:::");
        expect((await sb.exec("id -Gn alice")).stdout.trim().split(" ").sort()).toEqual(["alice", "wb-analysts"]);
        // The conflicting entry is still there, behind pwb.
        expect((await getent(sb, "passwd", "alice", "sss")).line).toBe(passwdLine(ALICE_SSS, "SSSD user"));
        // Enumeration lists Workbench's users too.
        expect((await sb.exec("getent passwd | cut -d: -f1")).stdout.split("\n")).toEqual(expect.arrayContaining(["root", "admin", "alice", "bob", "late1"]));
        expect(await LOCAL(sb)).toBe(local);
        for (const user of ["root", "admin", "localuser"])
            expect((await getent(sb, "passwd", user)).line).toBe((await getent(sb, "passwd", user, "files")).line);
    });

    it("a PAM session for a provisioned user through Workbench's default session profile (su)", { concurrent: false }, async () => {
        expect((await sb.exec("test -e /home/alice || echo absent")).stdout).toBe("absent\n");
        const r = await sb.exec("pamtester --verbose su alice open_session close_session 2>&1");
        expect(r.code, r.stdout).toBe(0);
        expect(r.stdout).toContain("successfully opened a session");
        if (os === "debian") {
            expect((await sb.exec("stat -c '%a %u:%g %F' /home/alice")).stdout).toBe("700 20001:20001 directory\n");
            const skel = (await sb.exec("cd /etc/skel && find . -mindepth 1 | sort")).stdout;
            expect(skel).toContain("./.bashrc");
            expect((await sb.exec("cd /home/alice && find . -mindepth 1 | sort")).stdout).toBe(skel);
            expect((await sb.exec("cmp /etc/skel/.bashrc /home/alice/.bashrc && stat -c '%u' /home/alice/.bashrc")).stdout).toBe("20001\n");
        } else {
            // RHEL's su goes through authselect's system-auth; its home line needs oddjobd's D-Bus service.
            expect(await sb.readFile("/etc/pam.d/su")).toContain("session		include		system-auth");
            expect(await sb.readFile("/etc/pam.d/system-auth")).toMatch(/^session\s+optional\s+pam_oddjob_mkhomedir\.so/m);
        }
    });

    it("after destroy: Workbench's users no longer resolve (alice is sss's again), nothing else changed", { concurrent: false }, async () => {
        await removeAll(sb, hostValues());
        expect((await getent(sb, "passwd", "alice")).line).toBe(passwdLine(ALICE_SSS, "SSSD user"));
        expect((await getent(sb, "group", "wb-analysts")).line).toBe("wb-analysts:x:30100:");
        for (const name of ["bob", "late1", "late2"]) expect((await getent(sb, "passwd", name)).code, name).toBe(2);
        expect(await LOCAL(sb)).toBe(local);
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(nsswitch);
    });
});
