/**
 * One host step over real SSH, with the command and stdin the program gives it plus WB_ values of the
 * test's own (WB_PROVISIONING, WB_HEALTH_TIMEOUT), and what a refused step must have left as it was.
 */
import { expect } from "vitest";
import { ExecResult, Sandbox, sshRun } from "../sandbox/sandbox";
import { hostCommand, HostAction, HostStep } from "../../host/commands";
import { checksSharedKey, nodeOwner, stepEnv, stepStdin } from "../../host/plan";
import { fingerprints, hostValues, MANAGED_FILES, systemctlCalls } from "./driver";

/** Runs `step`'s `action` on the sandbox; `input` is the step's own stdin (after the key line, for the steps that check the key). */
export async function runStep(sb: Sandbox, step: HostStep, action: HostAction, env: Record<string, string> = {}, input = ""): Promise<ExecResult> {
    const owner = nodeOwner("hosttest", { address: sb.host, port: sb.port });
    let stdin = input;
    if (checksSharedKey(step)) {
        const key = (await sb.exec("sha256sum /var/lib/rstudio-server/secure-cookie-key | cut -d' ' -f1")).stdout.trim();
        stdin = stepStdin(step, key, "preflight-of-node-0", input);
    }
    return sshRun(sb, hostCommand(step, action, { ...stepEnv(step, hostValues(), owner), ...env }), stdin);
}

/** What a step that stops before any change must leave as it was: the managed files, the services, the program's records. */
export interface Untouched {
    files: Record<string, string>;
    services: number;
    records: string;
}

/**
 * The program's records on the host (changed files' originals, saved steps, a pending restart), with
 * their hashes; not what every step's runner writes before the step itself runs (the host's owner, the
 * salt of its fingerprints).
 */
const records = async (sb: Sandbox) =>
    (await sb.exec("cd /var/lib/posit-workbench-entra 2>/dev/null && find . -type f ! -name owner ! -name salt -exec sha256sum {} + | sort")).stdout;

export async function snapshot(sb: Sandbox): Promise<Untouched> {
    return { files: await fingerprints(sb, MANAGED_FILES), services: (await systemctlCalls(sb)).length, records: await records(sb) };
}

export async function expectUntouched(sb: Sandbox, before: Untouched): Promise<void> {
    expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before.files);
    // No service started, stopped or restarted (queries aside).
    const calls = (await systemctlCalls(sb)).slice(before.services);
    expect(calls.filter((c) => /^(start|stop|restart|try-restart|reload-or-restart|enable|disable) /.test(c))).toEqual([]);
    expect(await records(sb)).toBe(before.records);
}
