/**
 * Drives the program's host steps against a sandbox over real SSH: the same command strings and
 * the same stdin the WorkbenchHost component gives the command provider.
 */
import { ExecResult, Sandbox, sshRun } from "../sandbox/sandbox";
import { hostCommand, HostAction, HostStep, installScriptsCommand, scriptsBundle, stepCommand } from "../../host/commands";
import { HostValues, nodeOwner, planHostSteps, PlannedStep, sharedKeyHash, stepEnv, StepRef, plannedStdin } from "../../host/plan";
import { nodeName } from "../../components/workbenchCluster";
import { rserverSettings } from "../../host/settings";
import type { WorkbenchConfig } from "../../config";

export const TENANT_ID = "11111111-2222-3333-4444-555555555555";
export const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
export const CLIENT_SECRET = "Qm8~Zr.client-secret-a1b2c3d4e5f6g7h8";

/** The stack's values; `addressedAs` is the address the stack reaches the hosts at (default: the sandbox's). */
export type StackValues = HostValues & { addressedAs?: string };

/** The config keys besides provisioning and startUid that rserverSettings reads (groups, admin groups, scopes, extra settings). */
export type RserverOverrides = Partial<Pick<WorkbenchConfig, "groupStartGid" | "adminGroups" | "adminSuperuserGroups" | "openidScopes" | "extraSettings">>;

export function hostValues(
    overrides: { provisioning?: "jit" | "scim"; startUid?: number; stack?: string; addressedAs?: string; rserver?: RserverOverrides } = {},
): StackValues {
    const provisioning = overrides.provisioning ?? "jit";
    return {
        clientId: CLIENT_ID,
        stack: overrides.stack ?? "hosttest",
        settings: rserverSettings({ provisioning, usernameClaim: "preferred_username", startUid: overrides.startUid, ...overrides.rserver }, TENANT_ID),
        scimTokenDays: provisioning === "scim" ? 30 : undefined,
        addressedAs: overrides.addressedAs,
    };
}

/** A failed step, naming the node the way the program does. */
export class StepError extends Error {
    constructor(
        readonly step: HostStep,
        readonly node: string,
        readonly result: ExecResult,
    ) {
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

const nameOf = (sandboxes: Sandbox[], node: number) =>
    nodeName({ address: sandboxes[node].host, port: sandboxes[node].port, user: sandboxes[node].user }, node);

/** The result of one node's step in a run. */
export const resultOf = (run: Run, id: HostStep, node = 0) => run.results.get(`${node}/${id}`);

/**
 * Runs the plan's steps as the engine schedules them: each one as soon as the steps it depends on
 * are done, independent steps at the same time (a node's client secret, PAM and NSCD steps run in
 * parallel). Every step other than the preflights also waits for all preflights, as the program's
 * steps do through the shared key hash. After a failure no new step starts; the first error is thrown
 * once the running ones end.
 */
async function runGraph(order: PlannedStep[], waitsFor: (step: PlannedStep) => PlannedStep[], runOne: (step: PlannedStep) => Promise<void>) {
    const done = new Map<string, Promise<void>>();
    const key = (s: StepRef) => `${s.node}/${s.id}`;
    let failure: unknown;
    for (const step of order) {
        const before = waitsFor(step).map((s) => done.get(key(s))!);
        done.set(
            key(step),
            Promise.all(before).then(async () => {
                if (failure) throw failure;
                try {
                    await runOne(step);
                } catch (e) {
                    failure ??= e;
                    throw e;
                }
            }),
        );
    }
    await Promise.allSettled(done.values());
    if (failure) throw failure;
}

export interface ApplyOptions {
    /** "update" runs the steps as an `up` runs a changed resource (a new connection, say); "apply" by default. */
    action?: "apply" | "update";
    /**
     * Run the scripts installed on the host (`installScripts`), with the short commands the stack's resources
     * hold; by default each command carries the whole script, as `npm run check` sends it.
     */
    installed?: boolean;
}

/** Installs the step scripts for the stack on each host, as a node's scripts resource does. */
export async function installScripts(sandboxes: Sandbox | Sandbox[], stack: string): Promise<ExecResult[]> {
    const nodes = Array.isArray(sandboxes) ? sandboxes : [sandboxes];
    return Promise.all(nodes.map((sb) => sshRun(sb, installScriptsCommand(stack), scriptsBundle())));
}

/** Every step's create (`apply`), as `pulumi up` runs them on a fresh stack: the same commands and stdin. */
export async function applyAll(sandboxes: Sandbox | Sandbox[], values: StackValues, clientSecret = CLIENT_SECRET, options: ApplyOptions = {}): Promise<Run> {
    const nodes = Array.isArray(sandboxes) ? sandboxes : [sandboxes];
    const run: Run = { results: new Map(), sshCommands: 0, milliseconds: 0 };
    const started = Date.now();
    const plan = planHostSteps(nodes.length, values.scimTokenDays !== undefined);
    const preflights = plan.filter((s) => s.id === "preflight");
    const keyHash = () => sharedKeyHash(nodes.map((_, node) => ({ name: nameOf(nodes, node), preflight: resultOf(run, "preflight", node)!.stdout })));
    const valueOf = (step: PlannedStep) =>
        step.stdin === "client-secret"
            ? clientSecret
            : step.stdin === "encrypted-client-secret"
              ? resultOf(run, "encrypt-client-secret")!.stdout
              : step.stdin === "digest"
                ? "digest-of-the-node's-other-steps\n"
                : undefined;
    const stdinFor = (step: PlannedStep) =>
        step.id === "preflight" ? undefined : plannedStdin(step, keyHash(), `preflight-of-node-${step.node}`, valueOf(step));
    await runGraph(
        plan,
        (step) => (step.id === "preflight" ? refs(plan, step.after) : [...refs(plan, step.after), ...preflights]),
        (step) => runStep(nodes, step.node, step.id, options.action ?? "apply", values, stdinFor(step), run, options.installed),
    );
    run.milliseconds = Date.now() - started;
    return run;
}

/**
 * Every step's delete (`remove`), as `pulumi destroy` runs them: a step after every step that depends on
 * it. `inState` limits them to the steps the stack's state holds (after a run whose results were lost).
 */
export async function removeAll(
    sandboxes: Sandbox | Sandbox[],
    values: StackValues,
    { inState, installed }: { inState?: HostStep[]; installed?: boolean } = {},
): Promise<Run> {
    const nodes = Array.isArray(sandboxes) ? sandboxes : [sandboxes];
    const run: Run = { results: new Map(), sshCommands: 0, milliseconds: 0 };
    const started = Date.now();
    const plan = planHostSteps(nodes.length, values.scimTokenDays !== undefined).filter((step) => !inState || inState.includes(step.id));
    const dependents = (step: PlannedStep) =>
        plan.filter((s) => s.after.some((a) => a.node === step.node && a.id === step.id) || (step.id === "preflight" && s.id !== "preflight"));
    await runGraph([...plan].reverse(), dependents, (step) => runStep(nodes, step.node, step.id, "remove", values, undefined, run, installed));
    run.milliseconds = Date.now() - started;
    return run;
}

const refs = (plan: PlannedStep[], wanted: StepRef[]) => wanted.map((w) => plan.find((s) => s.node === w.node && s.id === w.id)!);

async function runStep(
    nodes: Sandbox[],
    node: number,
    id: HostStep,
    action: HostAction,
    values: HostValues & { addressedAs?: string },
    stdin: string | undefined,
    run: Run,
    installed = false,
) {
    const owner = nodeOwner(values.stack, { address: values.addressedAs ?? nodes[node].host, port: nodes[node].port });
    const env = stepEnv(id, values, owner);
    const result = await sshRun(
        nodes[node],
        installed ? stepCommand(id, action, env as typeof env & { WB_STACK: string }) : hostCommand(id, action, env),
        stdin,
    );
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

/**
 * Every file and directory a program run as root could write to on the host, one line each (path, size, mtime,
 * mode, owner; a directory's size and mtime left out, its entries tell): what `check` must leave as it found it.
 * Left out: the logs (the stand-in's audit, sudo's and sshd's), nscd's own cache files, what an SSH login and
 * sudo write themselves (pam_motd's /run/motd.dynamic, sudo's lecture mark), and /proc, /sys and /dev.
 */
export async function hostTree(sandbox: Sandbox): Promise<string[]> {
    const r = await sandbox.exec(
        "find /etc /var /home /root /run /srv /opt /usr/local /tmp -xdev " +
            "\\( -path /var/log -o -path /var/cache/nscd -o -path /var/db/nscd -o -path /run/sshd -o -path /run/motd.dynamic -o -name .sudo_as_admin_successful \\) -prune " +
            "-o -type d -printf '%p d %m %u:%g\\n' -o -printf '%p %y %s %T@ %m %u:%g\\n' 2>/dev/null | sort",
    );
    return r.stdout.split("\n").filter(Boolean);
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

/** The names of the tokens `list-tokens` lists (its table without the header row), as the stand-in prints them. */
export async function tokenRows(sandbox: Sandbox): Promise<string[]> {
    return (await sandbox.exec("rstudio-server user-service list-tokens")).stdout.split("\n").slice(1).filter(Boolean);
}

export const MANAGED_FILES = [
    "/etc/rstudio/rserver.conf",
    "/etc/rstudio/openid-client-secret",
    "/etc/pam.d/common-session",
    "/etc/nsswitch.conf",
    "/etc/nscd.conf",
];
