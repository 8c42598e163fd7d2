/**
 * Drives the program's host steps against a sandbox over real SSH: the same command strings and
 * the same stdin the WorkbenchHost component gives the command provider.
 */
import { ExecResult, Sandbox, sshRun } from "../sandbox/sandbox";
import { hostCommand, HostStep } from "../../host/commands";
import { hostSteps, HostValues, stepEnv } from "../../host/plan";
import { rserverSettings } from "../../host/settings";

export const TENANT_ID = "11111111-2222-3333-4444-555555555555";
export const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
export const CLIENT_SECRET = "Qm8~Zr.client-secret-a1b2c3d4e5f6g7h8";

export function hostValues(overrides: { provisioning?: "jit" | "scim"; startUid?: number; stack?: string } = {}): HostValues {
    const provisioning = overrides.provisioning ?? "jit";
    return {
        clientId: CLIENT_ID,
        stack: overrides.stack ?? "hosttest",
        settings: rserverSettings({ provisioning, usernameClaim: "preferred_username", startUid: overrides.startUid }, TENANT_ID),
        scimTokenDays: provisioning === "scim" ? 30 : undefined,
    };
}

export class StepError extends Error {
    constructor(readonly step: HostStep, readonly result: ExecResult) {
        super(`host step ${step} failed (${result.code}): ${result.stderr}`);
    }
}

export interface Run {
    /** Each step's result, in the order run. */
    results: Map<HostStep, ExecResult>;
    /** SSH commands opened. */
    sshCommands: number;
    milliseconds: number;
}

/** Runs every step's create (`apply`) in order, as `pulumi up` does on a fresh stack. */
export async function applyAll(sandbox: Sandbox, values: HostValues, clientSecret = CLIENT_SECRET): Promise<Run> {
    const steps = hostSteps(values.scimTokenDays !== undefined);
    return runSteps(sandbox, steps.map((s) => s.id), "apply", values, (id) => {
        const spec = steps.find((s) => s.id === id)!;
        if (spec.stdin === "client-secret") return `${clientSecret}\n`;
        if (spec.stdin === "digest") return "digest-of-the-other-steps\n";
        return undefined;
    });
}

/** Runs every step's delete (`remove`) in reverse order, as `pulumi destroy` does. */
export async function removeAll(sandbox: Sandbox, values: HostValues): Promise<Run> {
    const ids = hostSteps(values.scimTokenDays !== undefined).map((s) => s.id).reverse();
    return runSteps(sandbox, ids, "remove", values, () => undefined);
}

async function runSteps(sandbox: Sandbox, ids: HostStep[], action: "apply" | "remove", values: HostValues, stdinFor: (id: HostStep) => string | undefined): Promise<Run> {
    const started = Date.now();
    const results = new Map<HostStep, ExecResult>();
    for (const id of ids) {
        const result = await sshRun(sandbox, hostCommand(id, action, stepEnv(id, values)), stdinFor(id));
        results.set(id, result);
        if (result.code !== 0) throw new StepError(id, result);
    }
    return { results, sshCommands: ids.length, milliseconds: Date.now() - started };
}

/** sha256 of each file inside the sandbox ("absent" when missing). */
export async function fingerprints(sandbox: Sandbox, paths: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const path of paths) {
        const r = await sandbox.exec(`if [ -e ${path} ]; then sha256sum ${path} | cut -d' ' -f1; stat -c '%a %U:%G' ${path}; else echo absent; fi`);
        out[path] = r.stdout.trim();
    }
    return out;
}

/** The services calls the systemctl stand-in recorded, as "verb unit" lines. */
export async function systemctlCalls(sandbox: Sandbox): Promise<string[]> {
    const r = await sandbox.exec("cat /var/log/standin/systemctl.log 2>/dev/null || true");
    return r.stdout.split("\n").filter(Boolean);
}

/** The guide's restart order. */
export const RESTART_SEQUENCE = ["stop rstudio-server", "stop rstudio-launcher", "start rstudio-launcher", "start rstudio-server"];

export function countSequence(calls: string[], sequence: string[]): number {
    const relevant = calls.filter((c) => /rstudio-(server|launcher)$/.test(c) && /^(stop|start|restart) /.test(c));
    let count = 0;
    for (let i = 0; i + sequence.length <= relevant.length; i++) {
        if (sequence.every((s, j) => relevant[i + j] === s)) count++;
    }
    return count;
}

export const MANAGED_FILES = [
    "/etc/rstudio/rserver.conf",
    "/etc/rstudio/openid-client-secret",
    "/etc/pam.d/common-session",
    "/etc/nsswitch.conf",
    "/etc/nscd.conf",
];
