/**
 * The guard rails a reviewer would otherwise have to check by eye in a preview. Each rule is
 * mandatory: a violation stops `pulumi preview` and `pulumi up` with the rule's name and a message.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

const SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal";
const APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword";
const SYNCHRONIZATION_SECRET = "azuread:index/synchronizationSecret:SynchronizationSecret";
const REMOTE_COMMAND = "command:remote:Command";

/** Values shorter than this are not worth searching for in command strings (they would match by chance). */
const MIN_SECRET_LENGTH = 8;

export interface GuardrailConfig {
    /** A client secret may end at most this many days from now. */
    maxSecretDays: number;
}

type Credential = { key?: string; value?: string };

export const assignmentRequired: ResourceValidationPolicy = {
    name: "workbench-app-requires-assignment",
    description: "Workbench enterprise applications require assignment, so only assigned users and groups can sign in.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== SERVICE_PRINCIPAL) return;
        if (args.props.appRoleAssignmentRequired !== true) {
            report(`${args.name}: set appRoleAssignmentRequired: true ("Assignment required? = Yes"); without it every user of the tenant can sign in to Workbench.`);
        }
    },
};

export const secretEndDate: ResourceValidationPolicy = {
    name: "client-secret-end-date",
    description: "Client secrets carry an end date at most maxSecretDays days out.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { maxSecretDays: { type: "integer", minimum: 1, default: 365 } } },
    validateResource: (args, report) => {
        if (args.type !== APPLICATION_PASSWORD) return;
        const { maxSecretDays } = config(args);
        const endDate: unknown = args.props.endDate;
        if (args.props.endDateRelative !== undefined) {
            report(`${args.name}: endDateRelative is deprecated; set endDate (at most ${maxSecretDays} days out).`);
        } else if (typeof endDate === "string") {
            const days = (Date.parse(endDate) - Date.now()) / 86_400_000;
            if (Number.isNaN(days)) report(`${args.name}: endDate "${endDate}" is not a date.`);
            else if (days > maxSecretDays) report(`${args.name}: endDate ${endDate} is ${Math.ceil(days)} days out; at most ${maxSecretDays} allowed.`);
        } else if (args.props.rotateWhenChanged === undefined) {
            // An end date still unknown in a preview is fine when a rotation computes it.
            report(`${args.name}: no endDate: Entra ID would default to two years; set endDate (at most ${maxSecretDays} days out).`);
        }
    },
};

export const hostKeyPinned: ResourceValidationPolicy = {
    name: "host-command-pins-host-key",
    description: "Every host command pins the server's SSH host key.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== REMOTE_COMMAND) return;
        const hostKey: unknown = args.props.connection?.hostKey;
        if (typeof hostKey !== "string" || hostKey.trim() === "") {
            report(`${args.name}: connection.hostKey is not set, so the SSH connection accepts any host key; set host.hostKey (ssh-keyscan -t ed25519 <host>).`);
        }
    },
};

export const scimHttps: ResourceValidationPolicy = {
    name: "scim-base-address-https",
    description: "Entra ID provisions users to Workbench over HTTPS only.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== SYNCHRONIZATION_SECRET) return;
        const base = (args.props.credentials as Credential[] | undefined)?.find((c) => c.key === "BaseAddress")?.value;
        if (typeof base === "string" && !base.startsWith("https://")) {
            report(`${args.name}: the SCIM BaseAddress "${base}" is not https://; the bearer token would travel in clear.`);
        }
    },
};

/** Secret values this stack knows, as they appear in resource properties. */
function secretValues(resources: StackValidationArgs["resources"]): string[] {
    const found: unknown[] = [];
    for (const r of resources) {
        if (r.type === REMOTE_COMMAND) found.push(r.props.stdin, r.props.connection?.privateKey, r.props.connection?.password);
        if (r.type === APPLICATION_PASSWORD) found.push(r.props.value);
        if (r.type === SYNCHRONIZATION_SECRET) found.push(...((r.props.credentials as Credential[] | undefined) ?? []).filter((c) => c.key === "SecretToken").map((c) => c.value));
    }
    return found
        .filter((v): v is string => typeof v === "string")
        .flatMap((v) => v.split("\n"))
        .map((v) => v.trim())
        .filter((v) => v.length >= MIN_SECRET_LENGTH);
}

export const noSecretInCommand: StackValidationPolicy = {
    name: "no-secret-in-command-string",
    description: "No host command carries a secret in its command string (secrets go on stdin).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const secrets = secretValues(args.resources);
        for (const r of args.resources) {
            if (r.type !== REMOTE_COMMAND) continue;
            for (const field of ["create", "update", "delete"] as const) {
                const text: unknown = r.props[field];
                if (typeof text === "string" && secrets.some((s) => text.includes(s))) {
                    report(`${r.name}: its ${field} command contains a secret value; send secrets on stdin instead.`, r.urn);
                }
            }
        }
    },
};

function config(args: ResourceValidationArgs): GuardrailConfig {
    return { maxSecretDays: 365, ...args.getConfig<Partial<GuardrailConfig>>() };
}

export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [assignmentRequired, secretEndDate, hostKeyPinned, scimHttps, noSecretInCommand];

