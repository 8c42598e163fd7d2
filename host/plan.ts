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
import type { HostStep } from "./steps";
import { MANAGED_RSERVER_KEYS, renderSettings, RserverSettings } from "./settings";

export interface StepRef {
    /** Index of the node in the stack's host list. */
    node: number;
    id: HostStep;
}

/**
 * Steps that write: each re-checks on its host, before writing, that the node's secure-cookie-key is
 * the one every node shares. The expected hash comes first on their stdin, not in the command: the
 * command then holds only values known before any host was reached, so a new stack's first preview
 * shows it in full. The same line names the node's preflight resource (its id is new each time it is
 * created): the preflight's remove undoes every step on its host, so when the preflight is replaced,
 * every step runs again.
 */
const KEY_CHECKED: HostStep[] = ["encrypt-client-secret", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "scim-token"];

export interface PlannedStep extends StepRef {
    /** Steps that must have run first (on destroy, they are restored after this one). */
    after: StepRef[];
    /** What the step reads on stdin: the client secret, its encrypted form, or the digest of the node's other steps. */
    stdin?: "client-secret" | "encrypted-client-secret" | "digest";
    /** Its stdout is a secret (never logged, kept secret in state). */
    secretOutput?: boolean;
}

/** Steps that change what Workbench reads on a node; its restart follows all of them. */
const CONFIGURATION_STEPS: Array<{ id: HostStep; after: HostStep[]; stdin?: PlannedStep["stdin"] }> = [
    { id: "client-secret", after: ["preflight"], stdin: "encrypted-client-secret" },
    { id: "rserver-conf", after: ["client-secret"] },
    { id: "home-directories", after: ["preflight"] },
    { id: "nss", after: ["home-directories"] },
    { id: "nscd", after: ["preflight"] },
];

/** Every step of a stack with `nodes` hosts, in an order that respects `after`. */
export function planHostSteps(nodes: number, scim: boolean): PlannedStep[] {
    const plan: PlannedStep[] = [];
    // Chained, so destroy (which deletes in reverse) restarts the nodes one at a time, last node first.
    for (let node = 0; node < nodes; node++) plan.push({ node, id: "preflight", after: node > 0 ? [{ node: node - 1, id: "preflight" }] : [] });
    const encrypt: StepRef = { node: 0, id: "encrypt-client-secret" };
    plan.push({ ...encrypt, after: plan.map(({ node, id }) => ({ node, id })), stdin: "client-secret", secretOutput: true });
    for (let node = 0; node < nodes; node++) {
        // Rolling: a node is touched only once the previous one is back and healthy.
        const previous: StepRef[] = node > 0 ? [{ node: node - 1, id: "restart" }] : [];
        for (const step of CONFIGURATION_STEPS) {
            const after = [...step.after.map((id) => ({ node, id })), ...(step.after.includes("preflight") ? previous : [])];
            if (step.id === "client-secret") after.push(encrypt);
            plan.push({ node, id: step.id, after, stdin: step.stdin });
        }
        plan.push({ node, id: "restart", after: CONFIGURATION_STEPS.map(({ id }) => ({ node, id })), stdin: "digest" });
    }
    if (scim) plan.push({ node: 0, id: "scim-token", after: [{ node: 0, id: "restart" }], secretOutput: true });
    return plan;
}

export interface HostValues {
    /** The application (client) id. */
    clientId: string;
    /** The Pulumi stack. */
    stack: string;
    /** The managed rserver.conf keys. */
    settings: RserverSettings;
    /** SCIM token lifetime in days. */
    scimTokenDays?: number;
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

export const checksSharedKey = (id: HostStep) => KEY_CHECKED.includes(id);

/**
 * After how many days a managed app's stack rotates a SCIM token of the given lifetime: 30 days before it
 * expires, or halfway through a lifetime of 60 days or less. The check warns from then on.
 */
export const scimTokenRotationDays = (lifetimeDays: number) => (lifetimeDays > 60 ? lifetimeDays - 30 : Math.ceil(lifetimeDays / 2));

/** The name of the SCIM token in Workbench, per stack so stacks sharing a host do not collide. */
export const scimTokenName = (stack: string) => `Entra ID User Provisioning Token (pulumi ${stack})`;

/** Who manages a host: the stack and the node's address, so a re-addressed node's old steps leave it alone. */
export const nodeOwner = (stack: string, target: { address: string; port: number }) => `${stack}/${target.address}:${target.port}`;

/** The WB_ variables one step's script reads; `owner` (see `nodeOwner`) for the per-node steps. */
export function stepEnv(id: HostStep, values: HostValues, owner: string): Record<string, string> {
    // The stack keeps its record of what each step did on the host apart from another stack's.
    const stack = { WB_STACK: values.stack };
    const node = { ...stack, WB_OWNER: owner };
    const keyCheck = { ...node, WB_KEY_CHECK: "stdin" };
    switch (id) {
        case "preflight":
            // The Workbench release must have the provisioning the stack sets up.
            return { ...node, WB_PROVISIONING: values.scimTokenDays !== undefined ? "scim" : "jit" };
        case "restart":
            return node;
        case "encrypt-client-secret":
            return { ...stack, WB_KEY_CHECK: "stdin", WB_CLIENT_ID: values.clientId };
        case "client-secret":
            return { ...keyCheck, WB_CLIENT_ID: values.clientId };
        case "rserver-conf":
            return { ...keyCheck, WB_MANAGED_KEYS: MANAGED_RSERVER_KEYS.join(" "), WB_SETTINGS: renderSettings(values.settings) };
        case "scim-token":
            return {
                ...stack,
                WB_KEY_CHECK: "stdin",
                WB_TOKEN_NAME: scimTokenName(values.stack),
                WB_TOKEN_DAYS: String(values.scimTokenDays ?? 365),
                WB_TOKEN_ROTATION: values.scimTokenRotation ?? "",
                // The days before expiry from which `check` warns.
                WB_TOKEN_WARN_DAYS: String((values.scimTokenDays ?? 365) - scimTokenRotationDays(values.scimTokenDays ?? 365)),
            };
        default:
            return keyCheck;
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
            return [id, { does: stepDescription(id), values: Object.fromEntries(env.map(([name, value]) => [name, value.includes("\n") ? value.split("\n").filter(Boolean) : value])) }];
        }),
    );
}
