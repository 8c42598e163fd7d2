/**
 * Runs every host step's `check` action on a stack's nodes: one SSH connection per node, nodes in
 * parallel, the same commands, variables and stdin the program gives `apply` (the action aside), so a
 * check reads exactly what an `up` would write. The shared key's hash comes from the nodes' preflights,
 * as in an `up`; the client secret's encrypted form from the stack's state.
 */
import type { WorkbenchConfig } from "../config";
import { nodeName, stepCommands, stepResourceName } from "../host/names";
import { hostCommand } from "../host/commands";
import { HostValues, nodeOwner, planHostSteps, PlannedStep, sharedKeyHash, stepEnv, plannedStdin, stdinValue } from "../host/plan";
import { issuerFor, rserverSettings } from "../host/settings";
import { CheckReport, classify, NodeCheck, parseCheckOutput, repairCommand, StepCheck } from "./report";
import { Hops } from "./hops";
import type { SshSession } from "./ssh";

/** One step resource as the stack's state holds it (secrets in clear, in memory only). */
export interface StateStep {
    urn: string;
    /** The resource's id: new each time the step is created. */
    id?: string;
    create?: string;
    stdin?: string;
    stdout?: string;
}

export interface StackFacts {
    /** The stack's name as the program sees it (`pulumi.getStack()`: no organization or project). */
    stack: string;
    /** The name the user gave (e.g. org/prod), for the repair command; the stack's name otherwise. */
    stackRef?: string;
    config: WorkbenchConfig;
    /** sshPrivateKey: every node and bastion without its own key. */
    sshPrivateKey?: string;
    /** bastionPrivateKey, when the bastion takes another key than sshPrivateKey. */
    bastionPrivateKey?: string;
    /** nodePrivateKeys: nodes' own keys, by the names the targets' `privateKeyName` give. */
    nodePrivateKeys?: Record<string, string>;
    /** The client secret the program would send: from the config (external app) or the state (managed app). */
    clientSecret?: string;
    /** Unknown for a managed app before the first `up`: placeholders then stand in. */
    clientId?: string;
    /** The id of the stack's SCIM token rotation (a managed app's `time.Rotating`), when it has one. */
    scimTokenRotation?: string;
    tenantId?: string;
    /** The step resources of the state, by resource name. */
    state: Map<string, StateStep>;
}

export interface CheckOptions {
    /** Check only the node at this address (or address:port). */
    only?: string;
    /** A line per node as it is checked. */
    progress?: (line: string) => void;
}

const NAME = "workbench";

export async function checkStack(facts: StackFacts, options: CheckOptions = {}): Promise<CheckReport> {
    const { config } = facts;
    const targets = config.hosts;
    const scim = config.provisioning === "scim";
    const values: HostValues = {
        clientId: facts.clientId ?? "(the client id of the app the first up creates)",
        settings: rserverSettings(config, facts.tenantId ?? "(the tenant id of the first up)"),
        stack: facts.stack,
        scimTokenDays: scim ? config.scimTokenDays : undefined,
        jitGroups: config.jitGroups,
        scimTokenRotation: facts.scimTokenRotation,
    };
    const plan = planHostSteps(targets.length, scim);
    const selected = targets
        .map((target, index) => ({ target, index, name: nodeName(target, index) }))
        .filter(({ target }) => !options.only || options.only === target.address || options.only === `${target.address}:${target.port}`);
    if (!selected.length)
        throw new Error(`no node of stack ${facts.stack} has the address ${options.only} (nodes: ${targets.map((t) => `${t.address}:${t.port}`).join(", ")})`);

    /** The node's preflight id as the state has it, which the key-checked steps' stdin names. */
    const preflightId = (node: number) =>
        facts.state.get(stepResourceName(NAME, { node, id: "preflight", after: [] }, targets[node]))?.id ?? "(not in the stack's state)";
    const stepOf = (step: PlannedStep) => {
        const resource = stepResourceName(NAME, step, targets[step.node]);
        const env = stepEnv(step.id, values, nodeOwner(facts.stack, targets[step.node]));
        // What the resource's create would be: the state's differs when the values or the step's version do.
        return { resource, env, apply: stepCommands(step.id, env as typeof env & { WB_STACK: string }).create, state: facts.state.get(resource) };
    };
    const nodes = new Map<number, NodeCheck & { session?: SshSession; started: number }>();
    for (const { index, name } of selected) nodes.set(index, { name, steps: [], seconds: 0, started: Date.now() });
    const fail = (index: number, error: unknown) => {
        const node = nodes.get(index)!;
        node.error ??= error instanceof Error ? error.message : String(error);
        node.session?.close();
        node.session = undefined;
    };

    /** Runs one step's check on its node and records the result; false when the node failed. */
    const runCheck = async (
        step: PlannedStep,
        stdin: string | undefined,
        sameInputs: (s: ReturnType<typeof stepOf>) => boolean,
    ): Promise<string | undefined> => {
        const node = nodes.get(step.node)!;
        if (!node.session) return undefined;
        const s = stepOf(step);
        const env = step.id === "restart" ? { ...s.env, WB_ISSUER: issuerFor(facts.tenantId ?? "common") } : s.env;
        const result = await node.session.run(hostCommand(step.id, "check", env), stdin).catch((e: Error) => ({ code: 255, stdout: "", stderr: e.message }));
        if (result.code !== 0) {
            fail(step.node, `${step.id}: ${result.stderr.trim().split("\n").pop() || `exit ${result.code}`}`);
            return undefined;
        }
        const parsed = parseCheckOutput(result.stdout);
        const check: StepCheck = {
            step: step.id,
            resource: s.resource,
            status: classify(parsed.wouldChange, sameInputs(s)),
            notes: parsed.notes,
            problems: parsed.problems,
            warnings: parsed.warnings,
            diff: parsed.diff,
            urn: s.state?.urn,
        };
        node.steps.push(check);
        return result.stdout;
    };

    // 1. Connect (through the node's bastion, one connection to each, shared) and run the preflights, every node at once.
    const hops = new Hops({ default: facts.sshPrivateKey, bastion: facts.bastionPrivateKey, node: (keyName) => facts.nodePrivateKeys?.[keyName] ?? "" });
    const preflights = new Map<number, string>();
    await Promise.all(
        selected.map(async ({ target, index, name }) => {
            options.progress?.(`${name}: checking`);
            try {
                nodes.get(index)!.session = await hops.connect(target, name);
            } catch (e) {
                return fail(index, e);
            }
            const step = plan.find((s) => s.id === "preflight" && s.node === index)!;
            const out = await runCheck(step, undefined, (s) => s.state?.create === s.apply);
            if (out !== undefined) preflights.set(index, out);
        }),
    );

    // 2. The key every node must share: from the nodes checked, and the state's preflights of the others.
    let keyHash: string | undefined;
    try {
        const known = targets.map((target, index) => ({
            name: nodeName(target, index),
            preflight:
                preflights.get(index) ??
                (nodes.has(index) ? undefined : facts.state.get(stepResourceName(NAME, { node: index, id: "preflight", after: [] }, target))?.stdout),
        }));
        keyHash = sharedKeyHash(known.filter((k): k is { name: string; preflight: string } => k.preflight !== undefined));
    } catch (e) {
        for (const index of nodes.keys()) if (!nodes.get(index)!.error) fail(index, e);
    }

    // 3. The other steps, in the plan's order on each node; the encryption (first node) before the secret files.
    const encrypt = plan.find((s) => s.id === "encrypt-client-secret")!;
    const encryptState = facts.state.get(stepOf(encrypt).resource);
    const secret = facts.clientSecret ?? (encryptState?.stdin ? stdinValue(encrypt, encryptState.stdin) : undefined);
    const encryptStdin = keyHash && secret !== undefined ? plannedStdin(encrypt, keyHash, preflightId(encrypt.node), secret) : undefined;
    // The encrypted value the nodes' secret files should hold: the state's, while the secret is the one it was made from.
    const encrypted = encryptStdin !== undefined && encryptState?.stdin === encryptStdin ? encryptState.stdout : undefined;
    if (keyHash && nodes.has(encrypt.node)) {
        if (encryptStdin === undefined) {
            nodes.get(encrypt.node)!.steps.push({
                step: encrypt.id,
                resource: stepOf(encrypt).resource,
                status: "would change",
                notes: ["the client secret is created by the first up"],
                problems: [],
                warnings: [],
                diff: "",
            });
        } else if ((await runCheck(encrypt, encryptStdin, (s) => s.state?.create === s.apply && s.state?.stdin === encryptStdin)) !== undefined) {
            // Its host side is a cache: gone (after a replacement, say) with the same inputs, nothing is wrong, and
            // replacing the step would only encrypt again and restart every node.
            const check = nodes.get(encrypt.node)!.steps.at(-1)!;
            if (check.status === "drifted") {
                check.status = "in sync";
                check.notes.push("the node's cache of the encrypted value is gone; the secret files are checked below");
            }
        }
    }
    await Promise.all(
        [...nodes.keys()].map(async (index) => {
            for (const step of plan.filter((s) => s.node === index && s.id !== "preflight" && s.id !== "encrypt-client-secret")) {
                if (!keyHash) break;
                // (The restart's digest is not sent: the check compares commands there.)
                const stdin =
                    step.stdin === "digest"
                        ? undefined
                        : plannedStdin(step, keyHash, preflightId(index), step.stdin === "encrypted-client-secret" ? (encrypted ?? "") : undefined);
                // The restart's stdin is a digest of the node's other steps: its command decides, and the host (a pending restart).
                const same = (s: ReturnType<typeof stepOf>) =>
                    s.state?.create === s.apply && (step.stdin === "digest" || (s.state?.stdin ?? "") === (stdin ?? ""));
                if ((await runCheck(step, stdin, same)) === undefined) break;
            }
            const node = nodes.get(index)!;
            node.session?.close();
            node.seconds = (Date.now() - node.started) / 1000;
            options.progress?.(`${node.name}: ${node.error ? "not checked" : `checked ${node.steps.length} steps in ${node.seconds.toFixed(1)} s`}`);
        }),
    );

    hops.close();
    const checked: NodeCheck[] = [...nodes.values()].map(({ name, steps, error, seconds }) => ({ name, steps, error, seconds }));
    const stackRef = facts.stackRef ?? facts.stack;
    return { stack: stackRef, nodes: checked, repair: repairCommand(stackRef, checked) };
}
