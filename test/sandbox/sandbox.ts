// Sandbox hosts for tests: a chrooted Debian root file system (an overlay of the cached image from
// build-rootfs.sh) running its own sshd on 127.0.0.1, with a stand-in for Posit Workbench.
// Needs root. Nothing here touches this machine's own /etc.
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface SandboxOptions {
    /**
     * "rocky9" (RHEL 8/9) and "rocky10" (RHEL 10): RHEL-family os-release and NSS module path, the
     * real authselect built from ../shared/vendor (1.2.6 on rocky9, 1.5.2 on rocky10) and stand-ins
     * for rpm, dnf (whose calls /var/log/standin/dnf.log records) and oddjobd.
     */
    osRelease?: "debian" | "rocky9" | "rocky10";
    /**
     * RHEL family only: the configuration authselect starts with, as `authselect select` takes it
     * ("sssd" by default, "winbind with-faillock", ...). Profiles: `minimal`, `nis`, `sssd`, `winbind` on
     * rocky9 (1.2); `local`, `sssd`, `winbind` on rocky10 (1.5). "none": never configured with
     * authselect (Debian's nsswitch.conf and PAM files left as they are).
     */
    authselect?: string;
    /** www-port written to rserver.conf; a free port by default (sandboxes share the network). */
    workbenchPort?: number;
    /** nscd installed and running (default true); false purges the package. */
    nscd?: boolean;
    /**
     * How `rstudio-server encrypt-password` asks for the value: "raw" (default) is rskey's own
     * prompts in terminal raw mode; "canonical" asks getpass-style (echo off, line mode, type-ahead
     * flushed). Either way the value is rskey's.
     */
    encryptPrompts?: "raw" | "canonical";
    /**
     * Debian only: the multiarch directory Workbench's NSS module is in, /usr/lib/<arch>-linux-gnu
     * ("x86_64" by default). "aarch64" lays it out as on an arm64 host: the module only under
     * /usr/lib/aarch64-linux-gnu (the sandbox's own libraries stay this machine's).
     */
    arch?: "x86_64" | "aarch64";
    /**
     * A network namespace (e.g. /proc/<pid>/ns/net of a process the test started with `unshare --net`): the
     * sandbox's sshd and services run in it, reachable only from that namespace (test/sandbox/netns.ts).
     */
    netns?: string;
    /**
     * RHEL family configured with authselect only: "rhel" installs /etc/pam.d/su, sudo and sshd as RHEL's
     * packages ship them, so sshd, sudo and `su` (Workbench's default PAM session profile) go through
     * authselect's password-auth, system-auth and postlogin; "debian" (default) keeps Debian's files.
     */
    pamServices?: "debian" | "rhel";
}

export interface Sandbox {
    host: "127.0.0.1";
    port: number;
    user: "admin";
    /** OpenSSH private key of `admin` (ed25519). */
    privateKey: string;
    /** The sandbox's host key, authorized_keys format: "ssh-ed25519 AAAA...". */
    hostPublicKey: string;
    /** Where the root file system is mounted; use readFile/writeFile (absolute symlinks inside!). */
    root: string;
    workbenchPort: number;
    /** Temporary directory holding the sandbox (sshd.log, keys); removed by stop(). */
    dir: string;
    /** Runs a bash command inside the chroot as root (not over SSH), for setup and inspection. */
    exec(command: string, stdin?: string): Promise<ExecResult>;
    readFile(path: string): Promise<string>;
    /** Writes a file inside the chroot (parent directories created), as root. */
    writeFile(path: string, content: string): Promise<void>;
    /** Starts sshd again (same port, same host key) after it was killed, as a host's service manager would. */
    startSshd(): Promise<void>;
    stop(): Promise<void>;
}

const SANDBOX_SH = join(__dirname, "sandbox.sh");
const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const live = new Set<string>();

function run(file: string, args: string[], stdin?: string): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { stdio: "pipe" });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => stdout.push(d));
        child.stderr.on("data", (d: Buffer) => stderr.push(d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
        // A command that exits without reading its stdin closes the pipe: not an error here.
        child.stdin.on("error", (e: NodeJS.ErrnoException) => {
            if (e.code !== "EPIPE") reject(e);
        });
        child.stdin.end(stdin ?? "");
    });
}

async function check(file: string, args: string[]): Promise<string> {
    const result = await run(file, args);
    if (result.code !== 0) throw new Error(`${file} ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
}

let rootfs: Promise<string> | undefined;

/** Path of the cached root file system image, built on first use (minutes cold, instant warm). */
export function buildRootfs(): Promise<string> {
    rootfs ??= check(join(__dirname, "build-rootfs.sh"), []).then((out) => out.trim());
    return rootfs;
}

const toolBuilds = new Map<string, Promise<string>>();

/**
 * Directory of the vendors' tools built from ../shared/vendor, each built on first use: `rskey`, and
 * the installed trees `authselect-1.2/` and `authselect-1.5/`; and `nss/`, our own NSS module built as
 * `libnss_pwb.so.2` and `libnss_sss.so.2` (all of them unless `only` names some).
 */
export function buildTools(only: Array<"rskey" | "authselect-1.2" | "authselect-1.5" | "nss"> = []): Promise<string> {
    const key = only.join(" ");
    if (!toolBuilds.has(key))
        toolBuilds.set(
            key,
            check(join(__dirname, "build-tools.sh"), only).then((out) => out.trim()),
        );
    return toolBuilds.get(key)!;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
    const os = options.osRelease ?? "debian";
    const authselectLine = os === "rocky9" ? "authselect-1.2" : "authselect-1.5";
    const [image, toolsDir] = await Promise.all([buildRootfs(), buildTools(os === "debian" ? ["rskey", "nss"] : ["rskey", "nss", authselectLine])]);
    const dir = await mkdtemp(join(tmpdir(), "wb-sandbox-"));
    const keyPath = join(dir, "id_ed25519");
    await check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sandbox-admin", "-f", keyPath]);
    const port = await freePort();
    const workbenchPort = options.workbenchPort ?? (await freePort());
    live.add(dir);
    // In the test's own network namespace, when it gives one (its processes inherit it).
    const inNetns = (argv: string[]): [string, string[]] => (options.netns ? ["nsenter", [`--net=${options.netns}`, "--", ...argv]] : [argv[0], argv.slice(1)]);
    const started = await run(
        ...inNetns([
            SANDBOX_SH,
            "start",
            dir,
            image,
            toolsDir,
            String(port),
            String(workbenchPort),
            `${keyPath}.pub`,
            os,
            options.nscd === false ? "0" : "1",
            options.encryptPrompts ?? "raw",
            options.authselect ?? "sssd",
            options.arch ?? "x86_64",
            options.pamServices ?? "debian",
        ]),
    );
    if (started.code !== 0) {
        await stopDir(dir);
        throw new Error(`sandbox start failed: ${started.stderr}`);
    }
    const root = join(dir, "root");
    const namespacePid = (await readFile(join(dir, "ns.pid"), "utf8")).trim();
    const hostKey = await readFile(join(root, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8");
    const inRoot = (argv: string[], stdin?: string) =>
        run("nsenter", ["-t", namespacePid, "-m", "--", "chroot", root, "/usr/bin/env", "-i", PATH, "HOME=/root", "LANG=C.UTF-8", ...argv], stdin);
    const sandbox: Sandbox = {
        host: "127.0.0.1",
        port,
        user: "admin",
        privateKey: await readFile(keyPath, "utf8"),
        hostPublicKey: hostKey.split(" ").slice(0, 2).join(" "),
        root,
        workbenchPort,
        dir,
        exec: (command, stdin) => inRoot(["/bin/bash", "-c", command], stdin),
        async readFile(path) {
            const result = await inRoot(["/bin/cat", "--", path]);
            if (result.code !== 0) throw new Error(`readFile ${path}: ${result.stderr}`);
            return result.stdout;
        },
        async writeFile(path, content) {
            const result = await inRoot(["/bin/sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", path], content);
            if (result.code !== 0) throw new Error(`writeFile ${path}: ${result.stderr}`);
        },
        async startSshd() {
            await check(...inNetns([SANDBOX_SH, "sshd-start", dir, String(port)]));
        },
        stop: () => stopDir(dir),
    };
    return sandbox;
}

async function stopDir(dir: string): Promise<void> {
    await check(SANDBOX_SH, ["stop", dir]);
    live.delete(dir);
}

// Safety net for a test run that ends without stop().
process.on("exit", () => {
    for (const dir of live) execFileSync(SANDBOX_SH, ["stop", dir], { stdio: "ignore" });
});

/**
 * Runs `command` as admin over real SSH with the system client, the host key pinned
 * (StrictHostKeyChecking=yes). `hostPublicKey` overrides the pinned key (to test refusal).
 */
export async function sshRun(sandbox: Sandbox, command: string, stdin?: string, options: { hostPublicKey?: string } = {}): Promise<ExecResult> {
    const knownHosts = join(await mkdtemp(join(sandbox.dir, "ssh-")), "known_hosts");
    await writeFile(knownHosts, `[${sandbox.host}]:${sandbox.port} ${options.hostPublicKey ?? sandbox.hostPublicKey}\n`);
    return run(
        "ssh",
        [
            "-F",
            "/dev/null",
            "-i",
            join(sandbox.dir, "id_ed25519"),
            "-p",
            String(sandbox.port),
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            `UserKnownHostsFile=${knownHosts}`,
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=10",
            `${sandbox.user}@${sandbox.host}`,
            command,
        ],
        stdin,
    );
}
