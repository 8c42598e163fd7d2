/** Stack configuration and checks shared by the end-to-end tests. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import type { Sandbox } from "../sandbox/sandbox";

export const NS = "posit-workbench-entra";
export const TENANT_ID = "11111111-2222-3333-4444-555555555555";
export const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
/** preflight, client-secret, rserver-conf, home-directories, nss, nscd, restart. */
export const STEPS_PER_NODE = 7;
/** The resources that install a node's step scripts (one SSH command, on create) and remove them (on delete only). */
export const SCRIPT_RESOURCES_PER_NODE = 2;

/** Host-only (external) configuration for the given sandboxes: `host` for one, `hosts` for more (or always, for a cluster). */
export function hostConfig(sandboxes: Sandbox[], clientSecret: string, { cluster = sandboxes.length > 1 } = {}): ConfigMap {
    const targets = sandboxes.map((sb) => ({ address: sb.host, port: sb.port, user: sb.user, hostKey: sb.hostPublicKey }));
    return {
        [`${NS}:hostname`]: { value: "workbench.e2e.test" },
        [`${NS}:entraMode`]: { value: "external" },
        [`${NS}:tenantId`]: { value: TENANT_ID },
        [`${NS}:clientId`]: { value: CLIENT_ID },
        [`${NS}:clientSecret`]: { value: clientSecret, secret: true },
        ...(!cluster ? { [`${NS}:host`]: { value: JSON.stringify(targets[0]) } } : { [`${NS}:hosts`]: { value: JSON.stringify(targets) } }),
        [`${NS}:sshPrivateKey`]: { value: sandboxes[0].privateKey, secret: true },
    };
}

/** The resource name of a node's step. */
export const stepName = (sb: Sandbox, step: string) => `workbench-${sb.host.replace(/\./g, "-")}-${sb.port}-${step}`;

/** SSH logins the sandbox's sshd accepted so far. */
export const sshConnections = async (sb: Sandbox) => ((await readFile(join(sb.dir, "sshd.log"), "utf8")).match(/Accepted publickey/g) ?? []).length;

/** "<secret> in <source>" for every secret (and every sandbox's SSH private key) found in a source. */
export function secretsIn(sources: Record<string, string>, secrets: Record<string, string>, sandboxes: Sandbox[]): string[] {
    const all: Record<string, string> = { ...secrets };
    // The private key's body lines, each long and distinctive.
    for (const [i, sb] of sandboxes.entries()) all[`SSH private key ${i}`] = sb.privateKey.split("\n")[2];
    const found: string[] = [];
    for (const [source, text] of Object.entries(sources)) {
        for (const [name, value] of Object.entries(all)) if (value && text.includes(value)) found.push(`${name} in ${source}`);
    }
    return found;
}

/** Lets the stack's one SSH key (the first sandbox's) log in to every sandbox, as on a real cluster. */
export async function shareLogin(sandboxes: Sandbox[]): Promise<void> {
    const key = await readFile(join(sandboxes[0].dir, "id_ed25519.pub"), "utf8");
    for (const sb of sandboxes.slice(1)) await sb.exec(`cat >> /home/admin/.ssh/authorized_keys`, key);
}
