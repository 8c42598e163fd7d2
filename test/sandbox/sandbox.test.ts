// Smoke test of the sandbox host and its Workbench stand-in (needs root, debootstrap on first run).
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, sshRun, startSandbox } from "./sandbox";

describe("sandbox host", { timeout: 30_000 }, () => {
    let a: Sandbox;
    let b: Sandbox;

    beforeAll(async () => {
        [a, b] = await Promise.all([startSandbox(), startSandbox()]);
    }, 600_000);

    afterAll(async () => {
        await Promise.all([a?.stop(), b?.stop()]);
    });

    it("runs two sandboxes side by side; admin logs in with the host key pinned and has sudo", async () => {
        expect(a.port).not.toBe(b.port);
        expect(a.hostPublicKey).not.toBe(b.hostPublicKey);
        for (const sandbox of [a, b]) {
            const result = await sshRun(sandbox, "sudo -n true && id -un");
            expect(result).toMatchObject({ code: 0, stdout: "admin\n" });
        }
    });

    it("refuses a wrong pinned host key", async () => {
        const result = await sshRun(a, "true", undefined, { hostPublicKey: b.hostPublicKey });
        expect(result.code).toBe(255);
        expect(result.stderr).toMatch(/Host key verification failed/);
    });

    it("encrypt-password needs a terminal (its encryption is tested in test/host/encryption.test.ts)", async () => {
        const noTty = await sshRun(a, "sudo -n rstudio-server encrypt-password", "value\nvalue\n");
        expect(noTty.code).toBe(1);
        expect(noTty.stderr).toContain("encrypt-password requires a terminal");
    });

    it("validates rserver.conf and serves /health-check once started", async () => {
        const conf = `www-port=${a.workbenchPort}\nserver-health-check-enabled=1\n`;
        await a.writeFile("/etc/rstudio/rserver.conf", `${conf}bogus-option=1\n`);
        const rejected = await sshRun(a, "sudo -n rstudio-server test-config");
        expect(rejected.code).toBe(1);
        expect(rejected.stderr).toContain("unrecognised option 'bogus-option'");
        expect((await sshRun(a, "sudo -n rstudio-server restart")).code).toBe(1);

        await a.writeFile("/etc/rstudio/rserver.conf", conf);
        expect(await sshRun(a, "sudo -n rstudio-server restart")).toMatchObject({ code: 0 });
        const health = await sshRun(a, `curl -fsS http://127.0.0.1:${a.workbenchPort}/health-check`);
        expect(health).toMatchObject({ code: 0 });
        expect(health.stdout).toContain("active-sessions: 0");
    });

    it("records systemctl calls in order", async () => {
        const calls = ["stop rstudio-server", "stop rstudio-launcher", "start rstudio-launcher", "start rstudio-server"];
        const result = await sshRun(b, `${calls.map((c) => `sudo -n systemctl ${c}`).join(" && ")} && systemctl is-active rstudio-server`);
        expect(result).toMatchObject({ code: 0, stdout: "active\n" });
        const log = await b.readFile("/var/log/standin/systemctl.log");
        expect(log.trim().split("\n")).toEqual([...calls, "is-active rstudio-server"]);
    });

    it("offers a RHEL-family variant and stops without leftovers", async () => {
        const rocky = await startSandbox({ osRelease: "rocky9", nscd: false });
        const result = await sshRun(rocky, ". /etc/os-release && echo $ID && authselect current --raw && rpm -q nscd; systemctl is-active nscd");
        expect(result.stdout).toBe("rocky\nsssd\npackage nscd is not installed\ninactive\n");
        await rocky.stop();
        expect(existsSync(rocky.dir)).toBe(false);
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(rocky.dir);
        const inside = readdirSync("/proc")
            .filter((p) => /^\d+$/.test(p))
            .filter((p) => {
                try {
                    return readlinkSync(`/proc/${p}/root`).startsWith(rocky.dir);
                } catch {
                    return false;
                }
            });
        expect(inside).toEqual([]);
    }, 60_000);

    it("runs the real authselect: 1.2 on rocky9, 1.5 on rocky10, from the starting configuration asked for", async () => {
        const [el9, el10, never] = await Promise.all([
            startSandbox({ osRelease: "rocky9", authselect: "winbind with-faillock" }),
            startSandbox({ osRelease: "rocky10", authselect: "local" }),
            startSandbox({ osRelease: "rocky10", authselect: "none" }),
        ]);
        try {
            const state =
                "authselect list | cut -d' ' -f2 | tr -d '\\t' | tr '\\n' ' '; echo; authselect current --raw; authselect check; readlink /etc/nsswitch.conf";
            expect((await sshRun(el9, state)).stdout).toBe(
                "minimal nis sssd winbind \nwinbind with-faillock\nCurrent configuration is valid.\n/etc/authselect/nsswitch.conf\n",
            );
            expect((await sshRun(el10, state)).stdout).toBe("local sssd winbind \nlocal\nCurrent configuration is valid.\n/etc/authselect/nsswitch.conf\n");
            const unconfigured = await sshRun(never, "authselect current --raw; test -L /etc/nsswitch.conf || echo 'nsswitch.conf: a file'");
            expect(unconfigured.stdout).toBe("No existing configuration detected.\nnsswitch.conf: a file\n");
        } finally {
            await Promise.all([el9.stop(), el10.stop(), never.stop()]);
        }
    }, 60_000);
});
