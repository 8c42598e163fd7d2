/**
 * Drives the program's host steps against a sandbox over real SSH: the same command strings and
 * the same stdin the WorkbenchHost component gives the command provider.
 */
import { ExecResult, Sandbox, sshRun } from "../sandbox/sandbox";
import { hostCommand, HostStep } from "../../host/commands";
import { HostValues, nodeOwner, planHostSteps, sharedKeyHash, stepEnv } from "../../host/plan";
import { nodeName } from "../../components/workbenchCluster";
import { rserverSettings } from "../../host/settings";

export const TENANT_ID = "11111111-2222-3333-4444-555555555555";
export const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
export const CLIENT_SECRET = "Qm8~Zr.client-secret-a1b2c3d4e5f6g7h8";

/** The stack's values; `addressedAs` is the address the stack reaches the hosts at (default: the sandbox's). */
export type StackValues = Omit<HostValues, "keyHash"> & { addressedAs?: string };

export function hostValues(overrides: { provisioning?: "jit" | "scim"; startUid?: number; stack?: string; addressedAs?: string } = {}): StackValues {
    const provisioning = overrides.provisioning ?? "jit";
    return {
        clientId: CLIENT_ID,
        stack: overrides.stack ?? "hosttest",
        settings: rserverSettings({ provisioning, usernameClaim: "preferred_username", startUid: overrides.startUid }, TENANT_ID),
        scimTokenDays: provisioning === "scim" ? 30 : undefined,
        addressedAs: overrides.addressedAs,
    };
}

/** A failed step, naming the node the way the program does. */
export class StepError extends Error {
    constructor(readonly step: HostStep, readonly node: string, readonly result: ExecResult) {
        super(`host step ${step} on ${node} failed (${result.code}): ${result.stderr}`);
    }
}

export interface Run {
    /** Each step's result, keyed "<node index>/<step>", in the order run. */
    results: Map<string, ExecResult>;
    /** SSH commands opened. */
    sshCommands: number;
    milliseconds: number;
}

const nameOf = (sandboxes: Sandbox[], node: number) => nodeName({ address: sandboxes[node].host, port: sandboxes[node].port, user: sandboxes[node].user }, node);

/** The result of one node's step in a run. */
export const resultOf = (run: Run, id: HostStep, node = 0) => run.results.get(`${node}/${id}`);

/**
 * Runs every step's create (`apply`) in the plan's order, as `pulumi up` does on a fresh stack:
 * the same commands, the same stdin (the client secret, then its encrypted form from the first node).
 * `onError` "throw" stops at the first failure like the engine; the failed step is in the error.
 */
export async function applyAll(sandboxes: Sandbox | Sandbox[], values: StackValues, clientSecret = CLIENT_SECRET): Promise<Run> {
    const nodes = Array.isArray(sandboxes) ? sandboxes : [sandboxes];
    const run: Run = { results: new Map(), sshCommands: 0, milliseconds: 0 };
    const started = Date.now();
    let full: HostValues | undefined;
    for (const step of planHostSteps(nodes.length, values.scimTokenDays !== undefined)) {
        if (step.id !== "preflight" && !full) {
            const keyHash = sharedKeyHash(nodes.map((_, node) => ({ name: nameOf(nodes, node), preflight: resultOf(run, "preflight", node)!.stdout })));
            full = { ...values, keyHash };
        }
        const stdin =
            step.stdin === "client-secret"
                ? `${clientSecret}\n`
                : step.stdin === "encrypted-client-secret"
                  ? `${resultOf(run, "encrypt-client-secret")!.stdout}\n`
                  : step.stdin === "digest"
                    ? "digest-of-the-node's-other-steps\n"
                    : undefined;
        await runStep(nodes, step.node, step.id, "apply", full ?? { ...values, keyHash: "" }, stdin, run);
    }
    run.milliseconds = Date.now() - started;
    return run;
}

/** Runs every step's delete (`remove`) in reverse plan order, as `pulumi destroy` does. */
export async function removeAll(sandboxes: Sandbox | Sandbox[], values: StackValues): Promise<Run> {
    const nodes = Array.isArray(sandboxes) ? sandboxes : [sandboxes];
    const run: Run = { results: new Map(), sshCommands: 0, milliseconds: 0 };
    const started = Date.now();
    // The delete commands the program stored carry the shared key's hash (only apply checks it).
    const keyHash = (await nodes[0].exec("sha256sum /var/lib/rstudio-server/secure-cookie-key | cut -d' ' -f1")).stdout.trim();
    for (const step of planHostSteps(nodes.length, values.scimTokenDays !== undefined).reverse()) {
        await runStep(nodes, step.node, step.id, "remove", { ...values, keyHash }, undefined, run);
    }
    run.milliseconds = Date.now() - started;
    return run;
}

async function runStep(nodes: Sandbox[], node: number, id: HostStep, action: "apply" | "remove", values: HostValues & { addressedAs?: string }, stdin: string | undefined, run: Run) {
    const owner = nodeOwner(values.stack, { address: values.addressedAs ?? nodes[node].host, port: nodes[node].port });
    const result = await sshRun(nodes[node], hostCommand(id, action, stepEnv(id, values, owner)), stdin);
    run.results.set(`${node}/${id}`, result);
    run.sshCommands++;
    if (result.code !== 0) throw new StepError(id, nameOf(nodes, node), result);
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
