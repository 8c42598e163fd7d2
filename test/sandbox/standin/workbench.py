"""Stand-in for `rstudio-server` (admin command) and `rserver` (the server), from Posit's docs.

`encrypt-password` encrypts with Posit's rskey (built from its vendored source), the open source
drop-in replacement for it.
"""
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import termios
import time

import services

CONF = "/etc/rstudio/rserver.conf"
REFUSE_START = "/etc/rstudio/.standin-refuse-start"
# The program's list of documented rserver.conf options (host/rserver-options.txt, installed beside this
# file by sandbox.sh): rserver accepts those and refuses any other.
OPTIONS = os.path.join(os.path.dirname(os.path.realpath(__file__)), "rserver-options.txt")
KEY_FILES = ("/etc/rstudio/secure-cookie-key", "/var/lib/rstudio-server/secure-cookie-key")
TOKENS = "/var/lib/rstudio-server/standin-tokens.json"
TOKEN_NAME_WIDTH = "/var/lib/standin/token-name-width"
DATE = "%Y-%m-%d %H:%M:%S"
VERSION = "2024.12.1+563.pro5 Workbench (Kousa Dogwood) (stand-in)"
# What `version` prints instead of VERSION, when a test writes it (another release, or garbage).
VERSION_FILE = "/var/lib/standin/version"
# A Workbench that does not serve /health-check even with server-health-check-enabled=1 (whether a
# Basic licence serves it is undocumented): 404, as for any path it does not serve.
NO_HEALTH_CHECK = "/var/lib/standin/no-health-check"
SIGN_IN_PAGE = "<!DOCTYPE html>\n<html><head><title>Sign In - Posit Workbench</title></head>" \
               "<body><form action=\"auth-do-sign-in\" method=\"POST\"></form></body></html>\n"
BOOLEANS = ("1", "0", "true", "false", "yes", "no", "on", "off")
RSKEY = os.path.join(os.path.dirname(os.path.realpath(__file__)), "rskey")
PROMPT_STYLE = "/var/lib/standin/encrypt-prompt-style"
# A Workbench that prints the key's hash as RStudio's crc32HexHash does, without leading zeros, where
# rskey prints %08X: when this file exists, encrypt-password prints rskey's value with the leading zeros
# of the hash taken off at both ends (0073F3A8...0073F3A8 becomes 73F3A8...73F3A8).
SHORT_KEY_HASH = "/var/lib/standin/encrypt-short-key-hash"
HEALTH = "active-sessions: 0\nidle-seconds: 0\ncpu-percent: 0.0\nmemory-percent: 0.0\n" \
         "swap-percent: 0.0\nload-average: 0.0\n"


def read_conf():
    """Returns ({option: value}, None) or (None, error) the way rserver's option parser would."""
    if os.path.exists(REFUSE_START):
        return None, "standin: configured to refuse start"
    with open(OPTIONS, encoding="utf-8") as f:
        types = dict(line.split() for line in f if line.strip() and not line.startswith("#"))
    conf = {}
    try:
        with open(CONF, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_-]+)\s*=\s*(.*)", text)
        if not match:
            return None, f"{CONF}:{number}: invalid line '{line}'"
        key, value = match.groups()
        if key not in types:
            return None, f"unrecognised option '{key}'"
        if key in conf:
            return None, f"option '{key}' cannot be specified more than once"
        kind = types[key]
        if (kind == "bool" and value.lower() not in BOOLEANS) or (kind == "int" and not value.isdigit()):
            return None, f"the argument ('{value}') for option '{key}' is invalid"
        conf[key] = value
    return conf, None


def test_config():
    """Returns None when rserver would accept its configuration, else the error message."""
    return read_conf()[1]


def www_port(conf):
    return int(conf.get("www-port", "8787"))


def wait_until_listening(proc):
    port = www_port(read_conf()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"rserver exited with status {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return None
        except OSError:
            time.sleep(0.05)
    return f"rserver did not listen on port {port}"


def is_true(conf, option):
    return conf.get(option, "0").lower() in ("1", "true", "yes", "on")


def tls_context(conf):
    """With ssl-enabled, the TLS context of the certificate and key named by ssl-certificate and
    ssl-certificate-key (rserver does not start without them), else None."""
    import ssl

    if not is_true(conf, "ssl-enabled"):
        return None
    cert, key = conf.get("ssl-certificate"), conf.get("ssl-certificate-key")
    if not cert or not key:
        raise ValueError("ssl-enabled=1 needs ssl-certificate and ssl-certificate-key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise ValueError(f"cannot load ssl-certificate {cert} with ssl-certificate-key {key}: {e}") from e
    return context


def rserver(args):
    """The server, always on 127.0.0.1: /health-check (when server-health-check-enabled=1, unless
    NO_HEALTH_CHECK exists) and the sign-in page /auth-sign-in; over HTTPS when ssl-enabled=1, as
    rserver serves it then."""
    import http.server  # imported here: every other command starts faster without it

    conf, error = read_conf()
    if error:
        print(error, file=sys.stderr)
        return 1
    if "--test-config" in args:
        return 0
    health_check = is_true(conf, "server-health-check-enabled") and not os.path.exists(NO_HEALTH_CHECK)
    try:
        tls = tls_context(conf)
    except ValueError as e:
        print(f"rserver: {e}", file=sys.stderr)
        return 1

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path == "/health-check" and health_check:
                body, kind = HEALTH.encode(), "text/plain"
            elif self.path.split("?", 1)[0] == "/auth-sign-in":
                body, kind = SIGN_IN_PAGE.encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def finish_request(self, request, client_address):
            if tls is None:
                super().finish_request(request, client_address)
                return
            # The handshake runs in the connection's own thread: a client that never sends one
            # (a port probe, plain http) cannot hold up the others.
            request.settimeout(10)
            try:
                with tls.wrap_socket(request, server_side=True) as connection:
                    super().finish_request(connection, client_address)
            except OSError as e:  # ssl.SSLError too: plain http on this port fails here
                print(f"rserver: TLS connection from {client_address[0]} failed: {e}", file=sys.stderr)

    Server(("127.0.0.1", www_port(conf)), Handler).serve_forever()
    return 0


def key_file(conf):
    if conf.get("secure-cookie-key-file"):
        return conf["secure-cookie-key-file"]
    return next((path for path in KEY_FILES if os.path.exists(path)), KEY_FILES[-1])


def prompt_hidden(prompt):
    """Reads one line from the terminal in canonical mode with echo off, as getpass(3) does: input
    typed before the prompt is flushed (TCSAFLUSH), so an answer must wait for its prompt."""
    with open("/dev/tty", "r+b", buffering=0) as tty:
        fd = tty.fileno()
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        tty.write(prompt.encode())
        try:
            line = os.read(fd, 4096).decode()
        finally:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
            tty.write(b"\n")
    if not line.endswith("\n"):
        raise EOFError
    return line[:-1]


def encrypt_password():
    """Needs a terminal, like the real command; the value comes from Posit's rskey. With the prompt
    style "raw" (the default) rskey itself asks twice, reading the terminal in raw mode
    (golang.org/x/term); with "canonical" the stand-in asks getpass-style (echo off, line mode)
    and hands the answer to rskey on a pipe."""
    if not os.isatty(0):
        print("encrypt-password requires a terminal", file=sys.stderr)
        return 1
    conf, error = read_conf()
    if error:
        print(error, file=sys.stderr)
        return 1
    path = key_file(conf)
    try:
        with open(path, "rb") as f:
            key_bytes = f.read()
    except OSError as e:
        print(f"Unable to read secure cookie key {path}: {e.strerror}", file=sys.stderr)
        return 1
    if len(key_bytes) < 32:
        print(f"Secure cookie key {path} is shorter than 32 bytes", file=sys.stderr)
        return 1
    rskey = [RSKEY, "encrypt", "--mode=workbench", "-f", path]
    if prompt_style() == "raw":
        return run_rskey(rskey)
    try:
        first = prompt_hidden("Enter password: ")
        second = prompt_hidden("Confirm password: ")
    except EOFError:
        print("No password entered", file=sys.stderr)
        return 1
    if second != first:
        print("Passwords do not match", file=sys.stderr)
        return 1
    return run_rskey(rskey, (first + "\n").encode())


def run_rskey(rskey, answer=None):
    """rskey with the terminal (raw prompts: it asks on its stdin, the terminal) or `answer` on a pipe; its
    output (stdout) as it is, or with the key hash's leading zeros taken off (SHORT_KEY_HASH)."""
    if not os.path.exists(SHORT_KEY_HASH):
        return subprocess.run(rskey, input=answer, check=False).returncode
    result = subprocess.run(rskey, input=answer, stdout=subprocess.PIPE, check=False)
    def short(match):
        crc = match[1].lstrip(b"0") or b"0"
        return crc + match[2] + crc
    out = re.sub(rb"(?m)^([0-9A-F]{8})([A-Za-z0-9+/=]+)\1$", short, result.stdout)
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return result.returncode


def prompt_style():
    try:
        with open(PROMPT_STYLE, encoding="utf-8") as f:
            return f.read().strip() or "raw"
    except FileNotFoundError:
        return "raw"


def load_tokens():
    try:
        with open(TOKENS, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_tokens(tokens):
    fd = os.open(TOKENS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(tokens, f)


def print_token_table(tokens):
    """`list-tokens` as Posit's Managing Tokens page describes it: "a table of all tokens ... including the
    token name, scrubbed token key, creation date, expiration date, and last used date"
    (https://docs.posit.co/ide/server-pro/admin/user_provisioning/managing_tokens.html). The page shows no
    example, so the layout (a header row, columns two spaces apart) is the stand-in's own; whether long names
    are cut is not documented either: a number in TOKEN_NAME_WIDTH cuts them to that width, ending in "..."."""
    try:
        with open(TOKEN_NAME_WIDTH, encoding="utf-8") as f:
            width = int(f.read().strip())
    except FileNotFoundError:
        width = None
    rows = [("Name", "Token", "Created", "Expires", "Last Used")]
    for name, entry in tokens.items():
        if width and len(name) > width:
            name = name[: width - 3] + "..."
        rows.append((name, entry.get("scrubbed", "****"), entry.get("created", "unknown"), entry["expires"] or "never", "never"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def user_service(args):
    """user-service generate-token [--duration DAYS|--no-expiry] NAME | list-tokens | revoke-token [--all] NAME
    (Posit's rstudio-server CLI reference: options before the name)"""
    if os.geteuid() != 0:
        print("user-service must be run as root", file=sys.stderr)
        return 1
    tokens = load_tokens()
    verb, rest = (args[0], args[1:]) if args else ("", [])
    names, flags, days = [], set(), 365
    while rest:
        arg = rest.pop(0)
        if arg == "--duration" and rest:
            days = int(rest.pop(0))
        elif arg.startswith("--"):
            flags.add(arg)
        else:
            names.append(arg)
    if verb == "generate-token" and len(names) == 1:
        name = names[0]
        if name in tokens:
            print(f"A token named '{name}' already exists", file=sys.stderr)
            return 1
        now = time.time()
        expiry = None if "--no-expiry" in flags else time.strftime(DATE, time.gmtime(now + days * 86400))
        token = secrets.token_urlsafe(32)
        tokens[name] = {"sha256": hashlib.sha256(token.encode()).hexdigest(), "created": time.strftime(DATE, time.gmtime(now)),
                        "expires": expiry, "scrubbed": token[:4] + "*" * 12}
        save_tokens(tokens)
        print(token)
        return 0
    if verb == "list-tokens":
        print_token_table(tokens)
        return 0
    if verb == "revoke-token" and (names or "--all" in flags):
        if "--all" in flags:
            tokens = {}
        elif names[0] in tokens:
            del tokens[names[0]]
        else:
            print(f"No token named '{names[0]}'", file=sys.stderr)
            return 1
        save_tokens(tokens)
        return 0
    print(user_service.__doc__, file=sys.stderr)
    return 1


def service(verb):
    """start|stop|restart|status; start and restart validate the configuration first."""
    if verb == "status":
        pid = services.pid_of("rstudio-server")
        print(f"rstudio-server is running (pid {pid})" if pid else "rstudio-server is stopped")
        return 0 if pid else 3
    error = test_config() if verb != "stop" else None
    if not error and verb != "start":
        services.stop("rstudio-server")
    if not error and verb != "stop":
        error = services.start("rstudio-server")
    if error:
        print(error, file=sys.stderr)
        return 1
    return 0


def main(name, args):
    if name == "rserver":
        return rserver(args)
    command = args[0] if args else ""
    if command in ("start", "stop", "restart", "status"):
        return service(command)
    if command == "test-config":
        error = test_config()
        if error:
            print(error, file=sys.stderr)
            return 1
        return 0
    if command == "encrypt-password":
        return encrypt_password()
    if command == "user-service":
        return user_service(args[1:])
    if command == "list-users":
        print("User Name\tStatus\tLast Sign In\tAdmin")
        return 0
    if command == "version":
        try:
            with open(VERSION_FILE, encoding="utf-8") as f:
                print(f.read(), end="")
        except FileNotFoundError:
            print(VERSION)
        return 0
    print(f"Usage: rstudio-server {{start|stop|restart|status|test-config|encrypt-password|"
          f"user-service|list-users|version}} (stand-in, unknown command '{command}')", file=sys.stderr)
    return 1
