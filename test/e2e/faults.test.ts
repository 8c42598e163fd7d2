/**
 * Interrupted runs through the real engine: the SSH connection is cut in the middle of `pulumi up` at
 * four points (sshd killed, every connection with it, and started again with the same port and host
 * key, as a host's service manager would). Then either `up` again and `destroy`, or `destroy` straight
 * away: the host ends as it was before the first `up` (every managed file byte for byte, no token, no
 * record), Workbench active, at most one restart per destroy. And a rerun that starts while the cut
 * step is still running on the host waits for it: one restart, no torn file.
 */
import { describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls, tokenRows } from "../host/driver";
import { engineUnavailable, EngineStack, newStack } from "./engine";
import { hostConfig, NS } from "./stacks";

const SECRET = "Cut~interrupted-client-secret-0123456789a";
const CUT_POINTS = ["encrypt", "rserver-conf", "restart", "scim-token"] as const;
type CutPoint = (typeof CUT_POINTS)[number];

const tokens = tokenRows;
const restarts = async (sb: Sandbox) => countSequence(await systemctlCalls(sb), RESTART_SEQUENCE);
const stateDir = async (sb: Sandbox) => (await sb.exec("find /var/lib/posit-workbench-entra 2>/dev/null")).stdout.trim();

let stacks = 0;

/** A new sandbox and SCIM stack whose first `up` loses its SSH connection at `point` (sshd is then back). */
async function interruptedUp(point: string): Promise<{ sb: Sandbox; e: EngineStack; before: Record<string, string>; output: string }> {
    const sb = await startSandbox();
    const before = await fingerprints(sb, MANAGED_FILES);
    const e = await newStack(`cut${process.pid}x${++stacks}`);
    await e.stack.setAllConfig({ ...hostConfig([sb], SECRET), [`${NS}:provisioning`]: { value: "scim" } });
    await sb.writeFile("/var/lib/standin/cut-ssh-at", `${point}\n`);
    const failed = await e.stack.up().then(
        () => undefined,
        (error: Error) => error,
    );
    expect(failed, "the interrupted up should fail").toBeDefined();
    expect(await sb.readFile("/var/log/standin/faults.log")).toContain(`cut SSH at ${point.split(" ")[0]}`);
    await sb.startSshd();
    return { sb, e, before, output: failed!.message };
}

/** After a destroy: the host as before the first up, nothing left behind, Workbench running, at most one restart. */
async function expectRestored(sb: Sandbox, e: EngineStack, before: Record<string, string>, restartsBefore: number) {
    expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
    expect(await tokens(sb)).toEqual([]);
    expect(await stateDir(sb)).toBe("");
    expect((await sb.exec("ls /etc/rstudio | grep -F .wb- || true")).stdout).toBe("");
    expect((await sb.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
    expect((await restarts(sb)) - restartsBefore).toBeLessThanOrEqual(1);
    const state = JSON.parse(await e.exportPlain());
    expect(state.deployment.pending_operations ?? []).toEqual([]);
    expect(state.deployment.resources ?? []).toEqual([]);
}

describe("an interrupted up", async () => {
    describe.skipIf(await engineUnavailable())("through the engine", () => {
        describe.concurrent.each(CUT_POINTS)("cut at %s", (point: CutPoint) => {
            it("then destroy: the host is restored and the token revoked, though the engine never learned what ran", async () => {
                const { sb, e, before } = await interruptedUp(point);
                try {
                    const restartsBefore = await restarts(sb);
                    expect((await e.stack.destroy()).summary.result).toBe("succeeded");
                    await expectRestored(sb, e, before, restartsBefore);
                } finally {
                    await sb.stop();
                }
            });

            it("then up again and destroy: the up converges (one valid token), the destroy restores the host", async () => {
                const { sb, e, before } = await interruptedUp(point);
                try {
                    const up = await e.stack.up();
                    expect(up.summary.result).toBe("succeeded");
                    expect(await tokens(sb)).toHaveLength(1);
                    expect(await restarts(sb)).toBe(1);
                    const restartsBefore = await restarts(sb);
                    expect((await e.stack.destroy()).summary.result).toBe("succeeded");
                    await expectRestored(sb, e, before, restartsBefore);
                } finally {
                    await sb.stop();
                }
            });
        });

        it("a rerun started while the cut step still runs on the host waits for it: one restart, no torn file", async () => {
            // The orphaned restart step goes on for 8 s after the cut; the rerun starts at once.
            const { sb, e, before } = await interruptedUp("restart 8");
            try {
                const up = await e.stack.up();
                expect(up.summary.result).toBe("succeeded");
                expect(up.stdout).toMatch(/waiting for the run that holds this host: step restart apply \(pid \d+, since /);
                // Workbench started once: by the cut step, not by the rerun's restart beside it.
                expect((await systemctlCalls(sb)).filter((call) => call === "start rstudio-server")).toHaveLength(1);
                expect((await sb.readFile("/etc/rstudio/rserver.conf")).match(/^# Managed by posit-workbench-entra /gm)).toHaveLength(1);
                expect((await sb.exec("ls /etc/rstudio | grep -F .wb- || true")).stdout).toBe("");
                expect(await tokens(sb)).toHaveLength(1);
                const restartsBefore = await restarts(sb);
                expect((await e.stack.destroy()).summary.result).toBe("succeeded");
                await expectRestored(sb, e, before, restartsBefore);
            } finally {
                await sb.stop();
            }
        });
    });
});
