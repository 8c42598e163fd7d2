/**
 * The guard rails a reviewer would otherwise have to check by eye in a preview. Each rule is
 * mandatory: a violation stops `pulumi preview` and `pulumi up` with the rule's name and a message.
 */
import { UnknownValueError } from "@pulumi/policy";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

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
            report(
                `${args.name}: set appRoleAssignmentRequired: true ("Assignment required? = Yes"); without it every user of the tenant can sign in to Workbench.`,
            );
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
        } else {
            // (A value a preview does not know yet throws instead: the engine then reports that the rule could not run.)
            report(`${args.name}: no endDate: Entra ID would default to two years; set endDate (at most ${maxSecretDays} days out).`);
        }
    },
};

export const hostKeyPinned: ResourceValidationPolicy = {
    name: "host-command-pins-host-key",
    description: "Every host command pins the server's SSH host key, and its bastion's (connection.proxy) when it has one.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== REMOTE_COMMAND) return;
        const hostKey: unknown = args.props.connection?.hostKey;
        if (typeof hostKey !== "string" || hostKey.trim() === "") {
            report(
                `${args.name}: connection.hostKey is not set, so the SSH connection accepts any host key; set host.hostKey (ssh-keyscan -t ed25519 <host>).`,
            );
        }
        const proxy: unknown = args.props.connection?.proxy;
        if (proxy !== undefined && proxy !== null) {
            const proxyKey: unknown = (proxy as { hostKey?: unknown }).hostKey;
            if (typeof proxyKey !== "string" || proxyKey.trim() === "") {
                report(
                    `${args.name}: connection.proxy.hostKey is not set, so the SSH connection to the bastion accepts any host key; set bastion.hostKey (ssh-keyscan -t ed25519 <bastion>).`,
                );
            }
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

/** A property's value, or undefined while a preview does not know it yet (instead of the policy giving up). */
function known(read: () => unknown): unknown {
    try {
        return read();
    } catch (e) {
        if (e instanceof UnknownValueError) return undefined;
        throw e;
    }
}

/** Non-trivial lines of the given secret values. */
function secretLines(values: unknown[]): string[] {
    return values
        .filter((v): v is string => typeof v === "string")
        .flatMap((v) => v.split("\n"))
        .map((v) => v.trim())
        .filter((v) => v.length >= MIN_SECRET_LENGTH);
}

/** Reports the command fields of a host command that contain one of `secrets`. */
function checkCommand(name: string, props: Record<string, any>, secrets: string[], report: (message: string) => void) {
    for (const field of ["create", "update", "delete"] as const) {
        const text = known(() => props[field]);
        if (typeof text === "string" && secrets.some((s) => text.includes(s))) {
            report(`${name}: its ${field} command contains a secret value; send secrets on stdin instead.`);
        }
    }
}

/**
 * What a host command sends on stdin, which is a secret (the client secret, its encrypted form, a digest),
 * but for the command that installs this program's own step scripts: their text, public like the program.
 */
const stdinSecret = (props: Record<string, any>) => {
    const create = known(() => props.create);
    return typeof create === "string" && / install-scripts install$/.test(create) ? undefined : known(() => props.stdin);
};

/** The secrets a host command itself carries: what it sends on stdin and its SSH credentials. */
const ownSecrets = (props: Record<string, any>) =>
    secretLines([
        stdinSecret(props),
        known(() => props.connection?.privateKey),
        known(() => props.connection?.password),
        known(() => props.connection?.proxy?.privateKey),
        known(() => props.connection?.proxy?.password),
    ]);

export const noSecretInCommand: ResourceValidationPolicy = {
    name: "no-secret-in-command-string",
    description: "No host command carries a secret in its command string (secrets go on stdin).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type === REMOTE_COMMAND) checkCommand(args.name, args.props, ownSecrets(args.props), report);
    },
};

export const noStackSecretInCommand: StackValidationPolicy = {
    name: "no-stack-secret-in-command-string",
    description: "No host command carries another resource's secret (client secret, SCIM token, SSH key) in its command string.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const secrets = secretLines(
            args.resources.flatMap((r) => {
                if (r.type === REMOTE_COMMAND)
                    return [stdinSecret(r.props), known(() => r.props.connection?.privateKey), known(() => r.props.connection?.proxy?.privateKey)];
                if (r.type === APPLICATION_PASSWORD) return [known(() => r.props.value)];
                if (r.type === SYNCHRONIZATION_SECRET) {
                    const credentials = known(() => r.props.credentials) as Credential[] | undefined;
                    return (credentials ?? []).filter((c) => c.key === "SecretToken").map((c) => c.value);
                }
                return [];
            }),
        );
        for (const r of args.resources) {
            if (r.type === REMOTE_COMMAND) checkCommand(r.name, r.props, secrets, (message) => report(message, r.urn));
        }
    },
};

function config(args: ResourceValidationArgs): GuardrailConfig {
    return { maxSecretDays: 365, ...args.getConfig<Partial<GuardrailConfig>>() };
}

export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [
    assignmentRequired,
    secretEndDate,
    hostKeyPinned,
    scimHttps,
    noSecretInCommand,
    noStackSecretInCommand,
];
