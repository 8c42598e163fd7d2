/**
 * What an interrupted run leaves on a host, over real SSH: every step applied, but only the preflight in
 * the stack's state (the other results never reached Pulumi), then destroy. And two runs on one host at
 * the same time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, sshRun, startSandbox } from "../sandbox/sandbox";
import { hostCommand } from "../../host/commands";
import { nodeOwner, stepEnv } from "../../host/plan";
import { applyAll, countSequence, fingerprints, hostValues, MANAGED_FILES, RESTART_SEQUENCE, removeAll, resultOf, systemctlCalls, tokenRows } from "./driver";

const AUTHSELECT_FILES = ["/etc/authselect/authselect.conf", "/etc/pam.d/system-auth", "/etc/pam.d/password-auth", "/etc/pam.d/postlogin"];
const HOSTS = [
    { os: "debian" as const, files: MANAGED_FILES },
    { os: "rocky9" as const, files: [...MANAGED_FILES, ...AUTHSELECT_FILES] },
    { os: "rocky10" as const, files: [...MANAGED_FILES, ...AUTHSELECT_FILES] },
];

describe.concurrent.each(HOSTS)("destroy after a run whose results were lost, on $os", ({ os, files }) => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os });
    });
    afterAll(() => sb?.stop());

    it("undoes every step from the preflight's remove: files back byte for byte, token revoked, one restart, no state left", async () => {
        const values = hostValues({ provisioning: "scim" });
        const before = await fingerprints(sb, files);
        await applyAll(sb, values);
        expect((await sb.exec("rstudio-server user-service list-tokens")).stdout).toContain("(pulumi hosttest)");
        await sb.exec(": > /var/log/standin/systemctl.log");

        const destroy = await removeAll(sb, values, { inState: ["preflight"] });

        expect(destroy.sshCommands).toBe(1);
        expect(await fingerprints(sb, files)).toEqual(before);
        expect(await tokenRows(sb)).toEqual([]);
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(1);
        expect((await sb.exec("find /var/lib/posit-workbench-entra 2>&1")).stdout).toMatch(/No such file or directory/);
        expect((await sb.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
        const undone = [...resultOf(destroy, "preflight")!.stderr.matchAll(/undoing ([\w-]+): it ran here, but its result never reached Pulumi/g)].map(
            (m) => m[1],
        );
        expect(undone).toEqual(["scim-token", "restart", "nscd", "nss", "home-directories", "rserver-conf", "client-secret", "encrypt-client-secret"]);
    });
});

describe("two runs on one host at the same time", () => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox();
    });
    afterAll(() => sb?.stop());

    it("the second waits a bounded time, then fails naming the run that holds the host, having changed nothing", async () => {
        const holder = "step rserver-conf apply (pid 4242, since 2026-11-30T12:00:00Z)";
        const lock = "/run/posit-workbench-entra.lock";
        await sb.exec(`echo '${holder}' > ${lock}.holder && (flock ${lock} sleep 6 >/dev/null 2>&1 &) && sleep 0.3`);
        const env = { ...stepEnv("preflight", hostValues(), nodeOwner("hosttest", { address: sb.host, port: sb.port })), WB_LOCK_TIMEOUT: "2" };
        const started = Date.now();
        const result = await sshRun(sb, hostCommand("preflight", "apply", env));
        const seconds = (Date.now() - started) / 1000;
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(
            `preflight: waiting for the run that holds this host: ${holder}\n` +
                `preflight: ERROR: another run has held this host for over 2s (${holder}, lock ${lock}): let it finish, then run pulumi again\n`,
        );
        expect(seconds).toBeGreaterThanOrEqual(2);
        expect(seconds).toBeLessThan(5);
        expect((await sb.exec("find /var/lib/posit-workbench-entra 2>&1")).stdout).toMatch(/No such file or directory/);
    });
});
