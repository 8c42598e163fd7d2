/**
 * The host steps of a stack, their order and the values each one gets: shared by the WorkbenchHost
 * component and the tests that drive the same commands over SSH.
 *
 * One host or every node of a load-balanced cluster: all nodes run the preflight first (their
 * secure-cookie-key hashes must agree before anything is written); the client secret is encrypted
 * once, on the first node, and the same value written everywhere; then the nodes are configured and
 * restarted one at a time, each only after the previous one answered its health check. The SCIM
 * token is generated once, on the first node.
 */
import { UserError } from "../errors";
import { stepDescription } from "./commands";
import { HOST_STEP_SPECS, HOST_STEPS, HostStep, StepSpec } from "./steps";
import { managedRserverKeys, renderSettings, RserverSettings } from "./settings";

export interface StepRef {
    /** Index of the node in the stack's host list. */
    node: number;
    id: HostStep;
}

export interface PlannedStep extends StepRef {
    /** Steps that must have run first (on destroy, they are restored after this one). */
    after: StepRef[];
    /** What the step reads on stdin after the key line (see StepSpec.input). */
    stdin?: Exclude<StepSpec["input"], "none">;
    /** Its stdout is a secret (never logged, kept secret in state). */
    secretOutput?: boolean;
}

/**
 * Every step of a stack with `nodes` hosts, in an order that respects `after`, from the steps' specs
 * (host/steps.ts). Besides what the specs say: the preflights are chained (destroy, which deletes in
 * reverse, then restarts the nodes one at a time, last node first), and the nodes roll: a node's steps that
 * follow its preflight wait for the previous node's restart (a node is touched only once the previous one is
 * back and healthy).
 */
export function planHostSteps(nodes: number, scim: boolean): PlannedStep[] {
    const plan: PlannedStep[] = [];
    const included = HOST_STEPS.filter((id) => scim || id !== "scim-token");
    const planned = (id: HostStep, node: number): PlannedStep => {
        const spec = HOST_STEP_SPECS[id];
        return { node, id, after: [], ...(spec.input !== "none" ? { stdin: spec.input } : {}), ...(spec.secretOutput ? { secretOutput: true } : {}) };
    };
    const refsOf = (id: HostStep, node: number): StepRef[] => (HOST_STEP_SPECS[id].runsOn === "cluster" ? [{ node: 0, id }] : [{ node, id }]);
    for (let node = 0; node < nodes; node++) plan.push({ ...planned("preflight", node), after: node > 0 ? [{ node: node - 1, id: "preflight" }] : [] });
    const clusterSteps = included.filter((id) => HOST_STEP_SPECS[id].runsOn === "cluster");
    const nodeSteps = included.filter((id) => id !== "preflight" && HOST_STEP_SPECS[id].runsOn === "node");
    // A cluster step after every node's instance of the steps it follows; those it follows come first.
    const clusterStep = (id: HostStep) => ({
        ...planned(id, 0),
        after: HOST_STEP_SPECS[id].after.flatMap((dep) => Array.from({ length: nodes }, (_, node) => ({ node, id: dep }))),
    });
    const early = clusterSteps.filter((id) => HOST_STEP_SPECS[id].after.every((dep) => dep === "preflight"));
    for (const id of early) plan.push(clusterStep(id));
    for (let node = 0; node < nodes; node++) {
        const previous: StepRef[] = node > 0 ? [{ node: node - 1, id: "restart" }] : [];
        for (const id of nodeSteps) {
            const deps = HOST_STEP_SPECS[id].after;
            plan.push({ ...planned(id, node), after: [...deps.flatMap((dep) => refsOf(dep, node)), ...(deps.includes("preflight") ? previous : [])] });
        }
    }
    for (const id of clusterSteps.filter((c) => !early.includes(c))) plan.push(clusterStep(id));
    return plan;
}

/** The order in which the preflight's remove undoes the steps saved on its host: the reverse of a node's plan. */
export const UNDO_ORDER: HostStep[] = [...HOST_STEPS].filter((id) => id !== "preflight").reverse();

export interface HostValues {
    /** The application (client) id. */
    clientId: string;
    /** The Pulumi stack. */
    stack: string;
    /** The rserver.conf lines: the managed keys, then the stack's extra settings. */
    settings: RserverSettings;
    /** SCIM token lifetime in days. */
    scimTokenDays?: number;
    /** JIT provisioning of groups from the groups claim (Workbench 2025.09.0 or later). */
    jitGroups?: boolean;
    /** Changes when the stack rotates the SCIM token (a managed app's `time.Rotating`); empty when it never does. */
    scimTokenRotation?: string;
}

/**
 * A step's stdin: for the steps that check the shared key, its expected sha256 and the id of the node's
 * preflight on the first line (see `sharedKeyHash`, `KEY_CHECKED`), then the step's own input (the
 * client secret, its encrypted form, a digest).
 */
export function stepStdin(id: HostStep, keyHash: string, preflightId: string, input = ""): string {
    return `${checksSharedKey(id) ? `secure-cookie-key-sha256=${keyHash} preflight=${preflightId}\n` : ""}${input}`;
}

/**
 * The whole stdin of a planned step, as the component, the check and the host tests give it; undefined for a
 * step that reads none. `value` is the step's own input (see StepSpec.input): the client secret or its
 * encrypted form go on a line of their own, the digest as it is.
 */
export function plannedStdin(step: Pick<PlannedStep, "id" | "stdin">, keyHash: string, preflightId: string, value?: string): string | undefined {
    if (!checksSharedKey(step.id) && !step.stdin) return undefined;
    const input = step.stdin === undefined || value === undefined ? undefined : step.stdin === "digest" ? value : `${value}\n`;
    return stepStdin(step.id, keyHash, preflightId, input);
}

/** A step's own input read back from the stdin `plannedStdin` made (the check reads the client secret from the state this way). */
export function stdinValue(step: Pick<PlannedStep, "id" | "stdin">, stdin: string): string | undefined {
    if (!step.stdin) return undefined;
    const input = checksSharedKey(step.id) ? stdin.slice(stdin.indexOf("\n") + 1) : stdin;
    return step.stdin === "digest" ? input : input.replace(/\n$/, "");
}

export const checksSharedKey = (id: HostStep) => HOST_STEP_SPECS[id].checksKey;

/**
 * After how many days a managed app's stack rotates a SCIM token of the given lifetime: 30 days before it
 * expires, or halfway through a lifetime of 60 days or less. The check warns from then on.
 */
export const scimTokenRotationDays = (lifetimeDays: number) => (lifetimeDays > 60 ? lifetimeDays - 30 : Math.ceil(lifetimeDays / 2));

/** The name of the SCIM token in Workbench, per stack so stacks sharing a host do not collide. */
export const scimTokenName = (stack: string) => `Entra ID User Provisioning Token (pulumi ${stack})`;

/** Who manages a host: the stack and the node's address, so a re-addressed node's old steps leave it alone. */
export const nodeOwner = (stack: string, target: { address: string; port: number }) => `${stack}/${target.address}:${target.port}`;

/** Which Workbench release the preflight asks for (host/lib.sh keeps the versions): what the stack provisions. */
const provisioningFloor = (values: HostValues) => (values.scimTokenDays !== undefined ? "scim" : values.jitGroups ? "jit-groups" : "jit");

/** The WB_ variables one step's script reads; `owner` (see `nodeOwner`) for the per-node steps. */
export function stepEnv(id: HostStep, values: HostValues, owner: string): Record<string, string> {
    const spec = HOST_STEP_SPECS[id];
    // The stack keeps its record of what each step did on the host apart from another stack's; a node's steps
    // name the node that manages the host (nodeOwner); the steps that check the shared key say so.
    const base = { WB_STACK: values.stack, ...(spec.runsOn === "node" ? { WB_OWNER: owner } : {}), ...(spec.checksKey ? { WB_KEY_CHECK: "stdin" } : {}) };
    return { ...base, ...stepValues(id, values) };
}

/** The values of a step's own, in its command. */
function stepValues(id: HostStep, values: HostValues): Record<string, string> {
    switch (id) {
        case "preflight":
            // The Workbench release must have the provisioning the stack sets up; its remove undoes the steps saved
            // on its host in this order.
            return { WB_PROVISIONING: provisioningFloor(values), WB_UNDO_ORDER: UNDO_ORDER.join(" ") };
        case "encrypt-client-secret":
        case "client-secret":
            return { WB_CLIENT_ID: values.clientId };
        case "rserver-conf":
            return { WB_MANAGED_KEYS: managedRserverKeys(values.settings).join(" "), WB_SETTINGS: renderSettings(values.settings) };
        case "scim-token":
            return {
                WB_TOKEN_NAME: scimTokenName(values.stack),
                WB_TOKEN_DAYS: String(values.scimTokenDays ?? 365),
                WB_TOKEN_ROTATION: values.scimTokenRotation ?? "",
                // The days before expiry from which `check` warns.
                WB_TOKEN_WARN_DAYS: String((values.scimTokenDays ?? 365) - scimTokenRotationDays(values.scimTokenDays ?? 365)),
            };
        default:
            return {};
    }
}

/**
 * The secure-cookie-key hash all nodes share, from their preflight outputs. Throws, naming the
 * odd nodes, when they disagree: a node with another key would not come online in the cluster,
 * and a secret encrypted on one node could not be decrypted on it.
 */
export function sharedKeyHash(nodes: Array<{ name: string; preflight: string }>): string {
    const hashes = nodes.map(({ name, preflight }) => {
        const hash = /secure-cookie-key-sha256=([0-9a-f]{64})/.exec(preflight)?.[1];
        if (!hash) throw new Error(`${name}: the preflight reported no secure-cookie-key hash`);
        return hash;
    });
    const counts = new Map<string, number>();
    for (const h of hashes) counts.set(h, (counts.get(h) ?? 0) + 1);
    const [majority, most] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    if (most === nodes.length) return majority;
    // With no majority (e.g. two nodes), the first node's key is the reference.
    const reference = most * 2 > nodes.length ? majority : hashes[0];
    const odd = nodes.filter((_, i) => hashes[i] !== reference).map((n) => n.name);
    throw new UserError(
        `the Workbench nodes do not share one secure-cookie-key: ${odd.join(", ")} ${odd.length === 1 ? "has" : "have"} a different key than ${nodes
            .filter((_, i) => hashes[i] === reference)
            .map((n) => n.name)
            .join(", ")}. Copy the same key file to every node (mode 0600) before running the stack; nothing was written.`,
    );
}

/**
 * What a reviewer reads in a preview for each step, known before any host is reached: what the step
 * does (its script's header) and the values its command carries (rserver.conf's lines one per entry).
 */
export function reviewedSteps(values: HostValues, scim: boolean): Record<string, { does: string[]; values: Record<string, string | string[]> }> {
    const internal = new Set(["WB_STEP", "WB_OWNER", "WB_KEY_CHECK", "WB_MANAGED_KEYS"]);
    // The stack's name is a reviewed value where it is written: rserver.conf's managed block.
    const shown = (id: HostStep, name: string) => !internal.has(name) && (name !== "WB_STACK" || id === "rserver-conf");
    const steps = [...new Set(planHostSteps(1, scim).map((s) => s.id))];
    return Object.fromEntries(
        steps.map((id) => {
            const env = Object.entries(stepEnv(id, values, "")).filter(([name]) => shown(id, name));
            return [
                id,
                {
                    does: stepDescription(id),
                    values: Object.fromEntries(env.map(([name, value]) => [name, value.includes("\n") ? value.split("\n").filter(Boolean) : value])),
                },
            ];
        }),
    );
}
