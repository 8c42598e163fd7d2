/**
 * The stack configuration: every knob, its default and its validation in one place.
 *
 * `parseConfig` is pure (raw values in, typed config or one `ConfigError` out) so it is tested
 * directly; `loadConfig` reads the stack's configuration through the Pulumi runtime.
 */
import { isIP } from "node:net";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { UserError } from "./errors";
import { scimTokenRotationDays } from "./host/plan";
import { extraSettingProblem, extraSettingValue } from "./host/settings";
import { Bastion, privateKeyName } from "./host/connection";

/** The Pulumi project name, which is also the configuration namespace (`<namespace>:<key>`). */
export const CONFIG_NAMESPACE = "posit-workbench-entra";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+=*( .*)?$/;

/** Directories that must never become the parent of provisioned home directories. */
const SYSTEM_DIRS = ["/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin", "/sys", "/tmp", "/usr", "/var"];

const NIL_UUID = "00000000-0000-0000-0000-000000000000";
/** RSA host keys below this many bits are refused (NIST SP 800-131A disallows them for signatures after 2013). */
const MIN_RSA_BITS = 2048;

/** The SSH wire-format strings of a key blob (uint32 length, then the bytes), or undefined if it does not split into them exactly. */
function wireStrings(blob: Buffer): Buffer[] | undefined {
    const parts: Buffer[] = [];
    for (let at = 0; at < blob.length;) {
        if (at + 4 > blob.length) return undefined;
        const length = blob.readUInt32BE(at);
        if (at + 4 + length > blob.length) return undefined;
        parts.push(blob.subarray(at + 4, at + 4 + length));
        at += 4 + length;
    }
    return parts;
}

/** The bit length of a positive SSH mpint (two's complement, big-endian, a 0x00 in front when the high bit is set). */
function mpintBits(value: Buffer): number {
    let at = 0;
    while (at < value.length && value[at] === 0) at++;
    return at === value.length ? 0 : (value.length - at - 1) * 8 + value[at].toString(2).length;
}

/** The size of an "ssh-rsa" key's modulus n (blob: string "ssh-rsa", mpint e, mpint n), undefined for other keys. */
function rsaKeyBits(line: string): number | undefined {
    if (!line.startsWith("ssh-rsa ")) return undefined;
    const parts = wireStrings(Buffer.from(line.split(" ")[1], "base64"));
    return parts?.length === 3 ? mpintBits(parts[2]) : undefined;
}

/** "<type> <base64 blob>": the blob must decode and name the same key type (placeholders do not). */
function isWellFormedHostKey(line: string): boolean {
    const match = HOST_KEY.exec(line);
    if (!match) return false;
    const blob = Buffer.from(line.split(" ")[1], "base64");
    if (blob.length < 4) return false;
    const typeLength = blob.readUInt32BE(0);
    if (blob.subarray(4, 4 + typeLength).toString("latin1") !== match[1]) return false;
    // An RSA key is its type, e and n: nothing more or less.
    if (match[1] === "ssh-rsa") return (rsaKeyBits(line) ?? 0) > 0;
    // An ed25519 key is its type and 32 bytes of key, nothing more or less.
    return match[1] !== "ssh-ed25519" || blob.length === 4 + typeLength + 4 + 32;
}

/** The key itself ("<type> <blob>", the blob re-encoded), without the comment: what two entries share if they are one machine. */
const hostKeyIdentity = (line: string) => `${line.split(" ")[0]} ${Buffer.from(line.split(" ")[1], "base64").toString("base64")}`;

/** Microsoft Graph's application id, the same in every tenant. */
export const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

const uuid = (what: string) =>
    z
        .string()
        .regex(UUID, `expected ${what} as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`)
        .refine((v) => v !== NIL_UUID, `expected ${what}, not the all-zero placeholder`);

/**
 * An object id in assignedUsers / assignedGroups. `hint` turns a value that is clearly something else
 * (a UPN, a display name) into a message saying what to put instead; other values get uuid()'s messages.
 */
const objectId = (what: string, hint: (value: string) => string | undefined) =>
    z.string().superRefine((value, ctx) => {
        const message = !UUID.test(value)
            ? (hint(value) ?? `expected ${what} as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`)
            : value === NIL_UUID
              ? `expected ${what}, not the all-zero placeholder`
              : undefined;
        if (message) ctx.addIssue({ code: "custom", message });
    });

/** "alice@example.com", a guest's "alice_example.com#EXT#@contoso.onmicrosoft.com" too. */
const userHint = (value: string) =>
    /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)
        ? `"${value}" looks like a user principal name or email address; assignedUsers takes user object ids (UUIDs): use the user's Object ID (az ad user show --id ${value} --query id -o tsv)`
        : undefined;

/**
 * A value with a character no UUID has (a letter past f, an underscore, ...), not a mail address:
 * "Workbench Users". Hex digits, dashes, braces and spaces alone (a UUID cut short or wrapped) keep
 * the plain UUID message.
 */
const groupHint = (value: string) =>
    /[^0-9a-f{}\s-]/i.test(value) && !value.includes("@")
        ? `"${value}" looks like a group's display name; assignedGroups takes object ids (UUIDs): put display names in assignedGroupNames`
        : undefined;

/** An IPv6 address, bare ("2001:db8::1") or as URLs write it ("[2001:db8::1]", with or without a port). */
const isIPv6Host = (value: string) => isIP(value) === 6 || isIP(/^\[([^\]]*)\](:\d*)?$/.exec(value)?.[1] ?? "") === 6;

/**
 * The hostname becomes the redirect URI (https://<hostname>/openid/callback) and, with SCIM, the URL
 * Entra ID provisions to. An IPv4 address stays accepted for JIT: Microsoft's redirect URI rules ask
 * for https and take an IPv4 literal (their own example: https://127.0.0.1), and with JIT only the
 * users' browsers reach Workbench, which may trust an internal CA. Not an IPv6 address: the same rules
 * say even the IPv6 loopback ([::1]) is not supported. SCIM needs a DNS name (the schema's superRefine).
 */
const hostnameSchema = z
    .string({ error: "required: the public DNS name users and Entra ID reach Workbench at, e.g. workbench.example.com" })
    .superRefine((value, ctx) => {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
            ctx.addIssue({ code: "custom", message: `expected a bare host name without a scheme (got "${value}"); the program adds https:// itself` });
        } else if (/[/?#]/.test(value)) {
            ctx.addIssue({ code: "custom", message: `expected a bare host name without a path (got "${value}")` });
        } else if (isIPv6Host(value)) {
            ctx.addIssue({
                code: "custom",
                message: `"${value}" is an IPv6 address, which cannot be used as the hostname: it goes into the redirect URI https://<hostname>/openid/callback, where Entra ID does not support IPv6 addresses (not even [::1]), and SCIM needs a DNS name (for its URL and the certificate's name). Use Workbench's DNS name, e.g. workbench.example.com`,
            });
        } else if (/:\d*$/.test(value)) {
            ctx.addIssue({
                code: "custom",
                message: `expected a bare host name without a port (got "${value}"); put the port in front of Workbench, on the proxy or load balancer`,
            });
        } else if (!isIP(value) && !DNS_NAME.test(value)) {
            ctx.addIssue({ code: "custom", message: `expected a DNS name such as workbench.example.com (got "${value}")` });
        }
    })
    // DNS names are case-insensitive: one spelling, so fixing the case changes nothing in Entra ID.
    .transform((value) => value.toLowerCase());

/** A host public key in authorized_keys format, well formed, an RSA key of at least MIN_RSA_BITS. */
const hostKeySchema = z.string().superRefine((key, ctx) => {
    if (!isWellFormedHostKey(key)) {
        ctx.addIssue({
            code: "custom",
            message: 'expected the host public key in authorized_keys format, e.g. "ssh-ed25519 AAAAC3Nz..." (ssh-keyscan -t ed25519 <host>)',
        });
        return;
    }
    const bits = rsaKeyBits(key);
    if (bits !== undefined && bits < MIN_RSA_BITS) {
        ctx.addIssue({
            code: "custom",
            message: `an RSA host key of ${bits} bits; expected at least ${MIN_RSA_BITS} bits, or better the host's ed25519 key (ssh-keyscan -t ed25519 <host>)`,
        });
    }
});

/** The SSH address of `what`: a DNS name or an IP address. */
const sshAddress = (what: string) =>
    z
        .string({ error: `expected the SSH address of ${what}` })
        .refine(
            (a) => isIP(a) !== 0 || DNS_NAME.test(a),
            `expected the SSH address of ${what}: a DNS name or an IP address (no user@ or :port; use user and port)`,
        );

/** An SSH port, 22 unless given. */
const sshPort = z
    .number({ error: "expected an SSH port number between 1 and 65535" })
    .int("expected an SSH port number between 1 and 65535")
    .min(1, "expected an SSH port number between 1 and 65535")
    .max(65535, "expected an SSH port number between 1 and 65535")
    .default(22);

/**
 * An SSH jump host the nodes are reached through (see host/connection.ts). Its host key is always pinned:
 * allowUnpinnedHostKey covers the nodes only.
 */
const bastionSchema = z.strictObject(
    {
        address: sshAddress("the bastion"),
        port: sshPort,
        user: z
            .string({ error: "required: the login user on the bastion (it needs no sudo, only TCP forwarding to the nodes' SSH ports)" })
            .regex(/^[a-z_][a-z0-9_.-]*\$?$/i, "expected a POSIX user name"),
        hostKey: z
            .string({
                error: 'required: the bastion\'s host public key to pin ("ssh-keyscan -t ed25519 <bastion>"); allowUnpinnedHostKey does not apply to the bastion',
            })
            .pipe(hostKeySchema),
    },
    {
        error: (issue) =>
            issue.code === "unrecognized_keys"
                ? `unknown key(s) ${issue.keys.join(", ")}; expected address, port, user, hostKey`
                : "expected an object { address, port, user, hostKey }",
    },
);

const hostSchema = z.strictObject(
    {
        /** SSH address of the Workbench server (may differ from the public hostname, e.g. a private IP). */
        address: sshAddress("the Workbench server"),
        /** SSH port. */
        port: sshPort,
        /** Login user; it needs passwordless sudo. */
        user: z
            .string({ error: "expected the SSH login user (it needs passwordless sudo)" })
            .regex(/^[a-z_][a-z0-9_.-]*\$?$/i, "expected a POSIX user name")
            .default("root"),
        /** The host's public key in authorized_keys format (`ssh-keyscan -t ed25519 <host>`), pinned for every connection. */
        hostKey: hostKeySchema.optional(),
        /** This node's bastion instead of the stack's `bastion`, or false: this node is reached directly (host/connection.ts). */
        bastion: z
            .union([bastionSchema, z.literal(false)], { error: "expected a bastion { address, port, user, hostKey }, or false to reach this node directly" })
            .optional(),
    },
    {
        error: (issue) =>
            issue.code === "unrecognized_keys"
                ? `unknown key(s) ${issue.keys.join(", ")}; expected address, port, user, hostKey, bastion`
                : "expected an object { address, port, user, hostKey }",
    },
);

/**
 * Names of groups as Workbench sees them, for rserver.conf options that take one group or a
 * comma-delimited list (Posit's "Administrative Dashboard" page): a comma would split a name.
 */
const groupNames = (what: string) =>
    z
        .array(
            z
                .string({ error: `expected ${what} as text` })
                .min(1, `expected a group name, not an empty string`)
                .refine((v) => !v.includes(","), "a group name cannot hold a comma: Workbench reads the option as a comma-delimited list of groups")
                .refine((v) => !/[\x00-\x1f\x7f]/.test(v), "a group name cannot hold a line break or another control character")
                .refine((v) => v.trim() === v, "a group name cannot begin or end with spaces"),
            { error: `expected a list of ${what}` },
        )
        .default([]);

/** An OAuth 2.0 scope token (RFC 6749, section 3.3: printable ASCII but space, " and \). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * A whole number from `min` (to `max`). A string is decoded as projectConfig decodes config values, so
 * `pulumi config set startUid 2000` (stored as "2000": top-level values are strings) and a number in the
 * stack file mean the same.
 */
function wholeNumber(min: number, max: number | undefined, expected: string, belowMin = expected) {
    const number = z.number({ error: expected }).int(expected).min(min, belowMin);
    return z.preprocess((v) => (typeof v === "string" ? decode(v) : v), max === undefined ? number : number.max(max, expected));
}

const schema = z
    .object({
        hostname: hostnameSchema,
        provisioning: z.enum(["jit", "scim"], { error: 'expected "jit" or "scim"' }).default("jit"),
        entraMode: z
            .enum(["managed", "external"], {
                error: 'expected "managed" (this stack creates the Entra ID app) or "external" (the app exists; give tenantId, clientId and clientSecret)',
            })
            .default("managed"),
        appDisplayName: z.string().min(1, "expected a non-empty display name").optional(),
        assignedUsers: z.array(objectId("user object ids", userHint), { error: "expected a list of user object ids" }).default([]),
        assignedGroups: z.array(objectId("group object ids", groupHint), { error: "expected a list of group object ids" }).default([]),
        assignedGroupNames: z.array(z.string().min(1), { error: "expected a list of security group display names" }).default([]),
        adminConsent: z.boolean({ error: "expected true or false" }).default(false),
        // Posit's "Just-in-Time Provisioning" page: on every login Workbench reconciles the user's groups with the claim's.
        jitGroups: z.boolean({ error: "expected true or false" }).default(false),
        groupsClaim: z
            .enum(["ApplicationGroup", "SecurityGroup", "All", "None"], { error: 'expected "ApplicationGroup", "SecurityGroup", "All" or "None"' })
            .default("ApplicationGroup"),
        secretRotationDays: wholeNumber(1, 730, "expected a whole number of days between 1 and 730").default(180),
        secretGraceDays: wholeNumber(1, 90, "expected a whole number of days between 1 and 90").default(30),
        tenantId: uuid("the directory (tenant) id").optional(),
        clientId: uuid("the application (client) id").optional(),
        usernameClaim: z
            .string()
            .regex(/^[A-Za-z0-9_.:-]+$/, "expected a claim name such as preferred_username or email")
            .default("preferred_username"),
        // `pulumi config set startUid 2000` stores "2000" (top-level values are strings): decoded as projectConfig does.
        startUid: wholeNumber(
            1000,
            undefined,
            "expected a whole number of at least 1000",
            "expected a whole number of at least 1000 (uids below 1000 belong to system accounts)",
        ).optional(),
        // Posit's "User provisioning > Configuration" page: "The minimum supported value for this configuration option is 1000."
        groupStartGid: wholeNumber(
            1000,
            undefined,
            "expected a whole number of at least 1000",
            "expected a whole number of at least 1000 (Posit's minimum supported value for group-provisioning-start-gid)",
        ).optional(),
        adminGroups: groupNames("group names (as Workbench sees them) whose members reach the administrative dashboard"),
        adminSuperuserGroups: groupNames("group names (as Workbench sees them) whose members are administrative superusers"),
        openidScopes: z
            .array(
                z
                    .string({ error: "expected a scope name" })
                    .regex(SCOPE_TOKEN, "expected a scope name such as openid, profile, email or offline_access (no spaces, quotes or backslashes)"),
                {
                    error: "expected a list of scopes, e.g. [openid, profile, email, offline_access]",
                },
            )
            .optional(),
        // Posit's "Delegated Azure Credentials" page: API permissions on Workbench's app registration, per service.
        delegatedPermissions: z
            .array(
                z.object(
                    {
                        resourceAppId: uuid("the application (client) id of the API, e.g. e406a681-f3d4-42a8-90b6-c2b029497af1 for Azure Storage"),
                        scopes: z
                            .array(
                                z
                                    .string({ error: "expected a permission name" })
                                    .regex(SCOPE_TOKEN, "expected a delegated permission name such as user_impersonation (no spaces, quotes or backslashes)"),
                                {
                                    error: "expected a list of delegated permission names, e.g. [user_impersonation]",
                                },
                            )
                            .min(1, "expected at least one delegated permission name, e.g. [user_impersonation]"),
                    },
                    { error: "expected { resourceAppId, scopes: [...] }" },
                ),
                { error: "expected a list of { resourceAppId, scopes } entries, one per API" },
            )
            .default([]),
        extraSettings: z
            .record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: "expected a value: text, a number, or true/false" }), {
                error: "expected a map of rserver.conf options to values, e.g. { auth-timeout-minutes: 60 }",
            })
            .default({})
            .transform((settings) => Object.fromEntries(Object.entries(settings).map(([option, value]) => [option, extraSettingValue(value)]))),
        homeDirPath: z
            .string()
            .regex(/^\/[^\s]*$/, 'expected an absolute path without spaces, e.g. "/home" or "/mnt/home"')
            .refine(
                (p) => !SYSTEM_DIRS.includes(p.replace(/\/+$/, "") || "/"),
                'expected a directory for home directories, not a system directory such as "/", "/etc" or "/usr"',
            )
            // "/home/" is written as /home ("/" itself is refused above, so something is always left).
            .transform((p) => p.replace(/\/+$/, ""))
            .optional(),
        scimJobTemplate: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+$/, 'expected a synchronization template id such as "scim" (or "customappsso")')
            .default("scim"),
        scimTokenDays: wholeNumber(1, 3650, "expected a whole number of days between 1 and 3650").default(365),
        host: hostSchema.optional(),
        hosts: z
            .array(hostSchema, { error: "expected a list of hosts, each { address, port, user, hostKey }" })
            .min(1, "expected at least one host")
            .optional(),
        allowUnpinnedHostKey: z.boolean({ error: "expected true or false" }).default(false),
        bastion: bastionSchema.optional(),
        // Where Entra ID mails a quarantine notice of the SCIM job (its SyncNotificationSettings secret).
        provisioningNotificationEmail: z
            .string({ error: "expected an email address, e.g. workbench-admins@example.com" })
            .regex(/^[^\s@",;<>]+@[^\s@",;<>]+\.[^\s@",;<>]+$/, "expected one email address, e.g. workbench-admins@example.com")
            .optional(),
        allowUntrustedScimCertificate: z.boolean({ error: "expected true or false" }).default(false),
        hasSshPrivateKey: z.boolean(),
        hasBastionPrivateKey: z.boolean().default(false),
        /** The names of nodePrivateKeys' entries (never their values). */
        hasNodePrivateKeys: z.array(z.string()).default([]),
        hasClientSecret: z.boolean(),
    })
    .superRefine((c, ctx) => {
        if (c.provisioning === "scim" && isIP(c.hostname) === 4) {
            ctx.addIssue({
                code: "custom",
                path: ["hostname"],
                message: `"${c.hostname}" is an IP address: SCIM needs a DNS name. Entra ID connects to https://<hostname>/scim/v2 only with a publicly trusted certificate issued for that name; use Workbench's public DNS name (an IPv4 address works with provisioning "jit" only)`,
            });
        }
        if (c.host && c.hosts) {
            ctx.addIssue({ code: "custom", path: ["hosts"], message: "set either host (one server) or hosts (a load-balanced cluster), not both" });
        } else if (!c.host && !c.hosts) {
            ctx.addIssue({
                code: "custom",
                path: ["host"],
                message: "required: the Workbench server { address, port, user, hostKey } (or hosts: [...] for a cluster)",
            });
        }
        const targets = c.hosts ? c.hosts.map((h, i) => ({ h, path: ["hosts", i] })) : c.host ? [{ h: c.host, path: ["host"] }] : [];
        const seen = new Set<string>();
        /** The first entry with each host key, as "hosts.<i> (<address>:<port>)". */
        const keyHolders = new Map<string, string>();
        for (const { h, path } of targets) {
            if (!h.hostKey && !c.allowUnpinnedHostKey) {
                ctx.addIssue({
                    code: "custom",
                    path: [...path, "hostKey"],
                    message:
                        'required: the host public key to pin ("ssh-keyscan -t ed25519 <host>"); set allowUnpinnedHostKey: true only if you accept any host key',
                });
            }
            // As the step names see it (they are made of the address and port).
            const id = `${h.address}-${h.port}`.toLowerCase().replace(/[^a-z0-9]+/g, "-");
            if (seen.has(id)) {
                ctx.addIssue({ code: "custom", path: [...path, "address"], message: `${h.address}:${h.port} is listed twice` });
                continue; // that says it all: not its host key too
            }
            seen.add(id);
            // One host key, two entries: the same machine under two names (127.0.0.1 and localhost), or clones.
            if (!h.hostKey || !isWellFormedHostKey(h.hostKey)) continue;
            const entry = `${path.join(".")} (${h.address}:${h.port})`;
            const first = keyHolders.get(hostKeyIdentity(h.hostKey));
            if (first) {
                ctx.addIssue({
                    code: "custom",
                    path: [...path, "hostKey"],
                    message: `${first} and ${entry} have the same hostKey: one machine listed under two addresses (list it once), or clones sharing a host key (give each its own: remove /etc/ssh/ssh_host_* and run ssh-keygen -A on it, then ssh-keyscan again)`,
                });
            } else {
                keyHolders.set(hostKeyIdentity(h.hostKey), entry);
            }
        }
        sshKeyProblems(c, targets, ctx);
        const external = c.entraMode === "external";
        for (const key of ["tenantId", "clientId"] as const) {
            if (external && !c[key]) ctx.addIssue({ code: "custom", path: [key], message: `required when entraMode is "external"` });
            if (!external && c[key])
                ctx.addIssue({
                    code: "custom",
                    path: [key],
                    message: `only used when entraMode is "external"; in "managed" mode the stack creates the app and reads it`,
                });
        }
        if (external && !c.hasClientSecret) {
            ctx.addIssue({
                code: "custom",
                path: ["clientSecret"],
                message: 'required when entraMode is "external" (pulumi config set --secret clientSecret)',
            });
        }
        if (!external && c.hasClientSecret) {
            ctx.addIssue({
                code: "custom",
                path: ["clientSecret"],
                message: 'only used when entraMode is "external"; in "managed" mode the stack creates and rotates the secret',
            });
        }
        if (c.provisioningNotificationEmail && (external || c.provisioning !== "scim")) {
            ctx.addIssue({
                code: "custom",
                path: ["provisioningNotificationEmail"],
                message: external
                    ? 'only used with entraMode "managed": with "external" the owners of the app set the notification email of its provisioning job'
                    : 'only used with provisioning "scim": it is the email of the SCIM provisioning job',
            });
        }
        if (c.allowUntrustedScimCertificate && (external || c.provisioning !== "scim")) {
            ctx.addIssue({
                code: "custom",
                path: ["allowUntrustedScimCertificate"],
                message:
                    'only used with provisioning "scim" and entraMode "managed", where up checks the SCIM endpoint\'s certificate before it creates the provisioning job',
            });
        }
        if (c.secretRotationDays + c.secretGraceDays > 730) {
            ctx.addIssue({
                code: "custom",
                path: ["secretGraceDays"],
                message: `secretRotationDays + secretGraceDays is ${c.secretRotationDays + c.secretGraceDays}; a client secret may live at most 730 days`,
            });
        }
        for (const key of ["assignedUsers", "assignedGroups", "assignedGroupNames", "adminGroups", "adminSuperuserGroups", "openidScopes"] as const) {
            const seen = new Set<string>();
            for (const [i, v] of (c[key] ?? []).entries()) {
                if (seen.has(v.toLowerCase())) ctx.addIssue({ code: "custom", path: [key, i], message: `"${v}" is listed twice` });
                seen.add(v.toLowerCase());
            }
        }
        if (external && (c.assignedUsers.length || c.assignedGroups.length || c.assignedGroupNames.length || c.adminConsent)) {
            ctx.addIssue({
                code: "custom",
                path: ["entraMode"],
                message: 'assignments and adminConsent need entraMode "managed"; with "external" the owner of the app manages them',
            });
        }
        if (c.jitGroups && c.provisioning !== "jit") {
            ctx.addIssue({
                code: "custom",
                path: ["jitGroups"],
                message:
                    'only with provisioning "jit": with "scim", the synchronization job provisions the groups assigned to the app (and their GIDs, from groupStartGid)',
            });
        } else if (c.jitGroups && !external && c.groupsClaim === "None") {
            ctx.addIssue({
                code: "custom",
                path: ["jitGroups"],
                message:
                    'needs the groups claim: Workbench creates the groups it finds in the ID token\'s groups claim, and groupsClaim "None" sends none (use "ApplicationGroup", the default)',
            });
        }
        if (c.adminSuperuserGroups.length && !c.adminGroups.length) {
            ctx.addIssue({
                code: "custom",
                path: ["adminSuperuserGroups"],
                message:
                    "needs adminGroups too: superusers use the administrative dashboard, which adminGroups turns on (admin-enabled) and limits to those groups (admin-group); list the superuser groups there as well if they should reach it",
            });
        }
        if (c.delegatedPermissions.length) {
            if (external) {
                ctx.addIssue({
                    code: "custom",
                    path: ["delegatedPermissions"],
                    message: 'needs entraMode "managed"; with "external" the owner of the app adds its API permissions',
                });
            } else if (!c.openidScopes?.includes("offline_access")) {
                ctx.addIssue({
                    code: "custom",
                    path: ["openidScopes"],
                    message:
                        'must include offline_access while delegatedPermissions is set (Posit\'s "Delegated Azure Credentials" page: Workbench requests the delegated credentials after sign-in only then), e.g. [openid, profile, email, offline_access]',
                });
            }
            const seen = new Set<string>();
            for (const [i, p] of c.delegatedPermissions.entries()) {
                const id = p.resourceAppId.toLowerCase();
                if (id === MICROSOFT_GRAPH_APP_ID) {
                    ctx.addIssue({
                        code: "custom",
                        path: ["delegatedPermissions", i, "resourceAppId"],
                        message:
                            "is Microsoft Graph's: the program sets the Graph permissions the sign-in needs (openid, profile, email, offline_access, User.Read); list other APIs here",
                    });
                } else if (seen.has(id)) {
                    ctx.addIssue({
                        code: "custom",
                        path: ["delegatedPermissions", i, "resourceAppId"],
                        message: `${p.resourceAppId} is listed twice: put all of its permissions in one entry`,
                    });
                }
                seen.add(id);
            }
        }
        // (A malformed scope has its own message already.)
        if (c.openidScopes?.every((scope) => SCOPE_TOKEN.test(scope))) {
            if (!c.openidScopes.includes("openid")) {
                ctx.addIssue({
                    code: "custom",
                    path: ["openidScopes"],
                    message: "must include openid: without it Entra ID issues no ID token, and Workbench signs in with OpenID Connect",
                });
            } else if (c.usernameClaim === "preferred_username" && !c.openidScopes.includes("profile")) {
                // Microsoft's "ID token claims reference": "The profile scope is required to receive this claim."
                ctx.addIssue({
                    code: "custom",
                    path: ["openidScopes"],
                    message: "must include profile while usernameClaim is preferred_username: Entra ID sends that claim only with the profile scope",
                });
            }
        }
        for (const [option, value] of Object.entries(c.extraSettings)) {
            const problem = extraSettingProblem(option, value);
            if (problem) ctx.addIssue({ code: "custom", path: ["extraSettings", option], message: problem });
        }
    });

/**
 * Every node and bastion has a private key to log in with: its own (nodePrivateKeys, bastionPrivateKey) or
 * sshPrivateKey. A node without one is named; nodePrivateKeys' entries must each name a node.
 */
function sshKeyProblems(
    c: { hasSshPrivateKey: boolean; hasBastionPrivateKey: boolean; hasNodePrivateKeys: string[]; bastion?: Bastion },
    targets: Array<{ h: { address: string; port: number; bastion?: Bastion | false }; path: Array<string | number> }>,
    ctx: z.RefinementCtx,
) {
    const names = c.hasNodePrivateKeys;
    for (const name of names) {
        if (!targets.some(({ h }) => privateKeyName(h, [name]) !== undefined)) {
            ctx.addIssue({
                code: "custom",
                path: ["nodePrivateKeys", name],
                message: `names no node; expected the address (or address:port) of one of ${targets.map(({ h }) => `${h.address}:${h.port}`).join(", ")}`,
            });
        }
    }
    if (c.hasSshPrivateKey) return;
    if (!names.length && !c.hasBastionPrivateKey) {
        ctx.addIssue({ code: "custom", path: ["sshPrivateKey"], message: "required: the SSH private key (pulumi config set --secret sshPrivateKey < key)" });
        return;
    }
    for (const [index, { h, path }] of targets.entries()) {
        if (privateKeyName(h, names) === undefined) {
            ctx.addIssue({
                code: "custom",
                path,
                message: `node${index + 1} (${h.address}:${h.port}) has no SSH private key: set sshPrivateKey (every node without its own) or its own, pulumi config set --secret --path 'nodePrivateKeys["${h.address}"]' < key`,
            });
        }
    }
    const behindBastion = targets.some(({ h }) => h.bastion !== false && (h.bastion ?? c.bastion));
    if (behindBastion && !c.hasBastionPrivateKey) {
        ctx.addIssue({
            code: "custom",
            path: ["bastionPrivateKey"],
            message:
                "required: the bastion's SSH private key (pulumi config set --secret bastionPrivateKey < key), or sshPrivateKey when the bastion takes the nodes' key",
        });
    }
}

/** Keys a stack may set under the project namespace; anything else is reported as a typo. */
export const CONFIG_KEYS = [
    ...Object.keys(schema.shape).filter((k) => !k.startsWith("has")),
    "sshPrivateKey",
    "clientSecret",
    "bastionPrivateKey",
    "nodePrivateKeys",
] as const;
/** Keys whose values must stay secret. */
export const SECRET_CONFIG_KEYS = ["sshPrivateKey", "clientSecret", "bastionPrivateKey", "nodePrivateKeys"] as const;

type Parsed = z.output<typeof schema>;
/**
 * One Workbench server reached over SSH: `bastion` is the one it is reached through (its own or the stack's;
 * undefined: directly), `privateKeyName` the nodePrivateKeys entry it logs in with (undefined: sshPrivateKey).
 */
export type HostTarget = Omit<z.output<typeof hostSchema>, "bastion"> & { bastion?: Bastion; privateKeyName?: string };

/** Validated configuration with every default applied. Secrets are not part of it; see `loadConfig`. */
export interface WorkbenchConfig extends Omit<
    Parsed,
    "hasSshPrivateKey" | "hasClientSecret" | "hasBastionPrivateKey" | "hasNodePrivateKeys" | "appDisplayName" | "host" | "hosts"
> {
    stack: string;
    /** The Workbench servers: one, or every node of a load-balanced cluster (from `host` or `hosts`). */
    hosts: HostTarget[];
    appDisplayName: string;
    /** `https://<hostname>/openid/callback`, the redirect URI registered in Entra ID. */
    redirectUri: string;
    /** `https://<hostname>/scim/v2`, the tenant URL Entra ID provisions users to. */
    scimBaseAddress: string;
    /** A new SCIM token is generated this many days after the last (30 days before it expires; half its life for short ones). */
    scimTokenRotationDays: number;
}

/** What the validation may know of the secret keys: never their values. */
export interface SecretFacts {
    sshPrivateKey: boolean;
    clientSecret: boolean;
    /** Secret keys whose values sit in the stack file unencrypted. */
    storedInClear?: string[];
    /** The client secret has the shape of a secret ID, the classic mix-up (AADSTS7000215). */
    clientSecretLooksLikeId?: boolean;
    /** The client secret holds a line break or another control character. */
    clientSecretHasControlCharacter?: boolean;
    /** bastionPrivateKey is set. */
    bastionPrivateKey?: boolean;
    /** The names of nodePrivateKeys' entries; "malformed" when it is not an object of strings. */
    nodePrivateKeys?: string[] | "malformed";
}

/** One message per bad key, all of them at once. */
export class ConfigError extends UserError {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/**
 * Validates raw stack configuration (values already JSON-decoded) and applies defaults.
 * Secret values are never passed in: only whether they are present.
 */
export function parseConfig(raw: Record<string, unknown>, stack: string, secrets: SecretFacts): WorkbenchConfig {
    const problems: string[] = [];
    for (const key of secrets.storedInClear ?? []) {
        problems.push(`${CONFIG_NAMESPACE}:${key}: stored in clear in the stack file; set it with: pulumi config set --secret ${key}`);
    }
    if (secrets.clientSecretLooksLikeId) {
        problems.push(
            `${CONFIG_NAMESPACE}:clientSecret: looks like the secret's ID (a UUID); expected the secret's Value, shown once when the secret is created`,
        );
    }
    if (secrets.clientSecretHasControlCharacter) {
        problems.push(
            `${CONFIG_NAMESPACE}:clientSecret: contains a line break or another control character; expected the secret's Value on one line (it is typed into encrypt-password's prompt, where a terminal would act on such characters)`,
        );
    }
    if (secrets.nodePrivateKeys === "malformed") {
        problems.push(
            `${CONFIG_NAMESPACE}:nodePrivateKeys: expected a map of node address (or address:port) to that node's SSH private key, each set with pulumi config set --secret --path 'nodePrivateKeys["<address>"]' < key`,
        );
    }
    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            problems.push(`${CONFIG_NAMESPACE}:${key}: unknown key; expected one of ${CONFIG_KEYS.join(", ")}`);
        }
    }
    const input = Object.fromEntries(Object.entries(raw).filter(([k]) => !(SECRET_CONFIG_KEYS as readonly string[]).includes(k)));
    const nodeKeyNames = Array.isArray(secrets.nodePrivateKeys) ? secrets.nodePrivateKeys : [];
    const result = schema.safeParse({
        ...input,
        hasSshPrivateKey: secrets.sshPrivateKey,
        hasClientSecret: secrets.clientSecret,
        hasBastionPrivateKey: secrets.bastionPrivateKey ?? false,
        hasNodePrivateKeys: nodeKeyNames,
    });
    if (!result.success) {
        const seen = new Set<string>();
        for (const issue of result.error.issues) {
            const key = issue.path.join(".");
            if (seen.has(key)) continue; // one message per key
            seen.add(key);
            problems.push(`${CONFIG_NAMESPACE}:${key}: ${issue.message}`);
        }
    }
    if (problems.length || !result.success) throw new ConfigError(problems);
    const { hasSshPrivateKey: _s, hasClientSecret: _c, hasBastionPrivateKey: _b, hasNodePrivateKeys: _n, host, hosts, ...parsed } = result.data;
    return {
        ...parsed,
        // Each node with the bastion it is reached through and the key it logs in with (host/connection.ts).
        hosts: (hosts ?? [host!]).map(({ bastion, ...h }) => {
            const via = bastion === false ? undefined : (bastion ?? parsed.bastion);
            const keyName = privateKeyName(h, nodeKeyNames);
            return { ...h, ...(via ? { bastion: via } : {}), ...(keyName !== undefined ? { privateKeyName: keyName } : {}) };
        }),
        stack,
        appDisplayName: parsed.appDisplayName ?? `Posit Workbench (${stack})`,
        redirectUri: `https://${parsed.hostname}/openid/callback`,
        scimBaseAddress: `https://${parsed.hostname}/scim/v2`,
        scimTokenRotationDays: scimTokenRotationDays(parsed.scimTokenDays),
    };
}

/** Decodes a raw config string the way `pulumi config set --path` / YAML store it. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** This project's keys of a stack's configuration (`<namespace>:<key>` to `key`), JSON-decoded as stored. */
export function projectConfig(all: Record<string, string>): Record<string, unknown> {
    const prefix = `${CONFIG_NAMESPACE}:`;
    return Object.fromEntries(
        Object.entries(all)
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => [key.slice(prefix.length), decode(value)]),
    );
}

/** What `parseConfig` learns of the secret keys, from the raw values and which of them are stored as secrets. */
export function secretFacts(
    raw: Record<string, unknown>,
    present: { sshPrivateKey: boolean; clientSecret: boolean },
    isSecret?: (key: string) => boolean,
): SecretFacts {
    const nodeKeys = raw.nodePrivateKeys;
    return {
        ...present,
        bastionPrivateKey: raw.bastionPrivateKey !== undefined,
        nodePrivateKeys:
            nodeKeys === undefined
                ? []
                : nodeKeys &&
                    typeof nodeKeys === "object" &&
                    !Array.isArray(nodeKeys) &&
                    Object.values(nodeKeys).every((v) => typeof v === "string" && v.length > 0)
                  ? Object.keys(nodeKeys)
                  : "malformed",
        storedInClear: isSecret ? SECRET_CONFIG_KEYS.filter((k) => raw[k] !== undefined && !isSecret(k)) : [],
        clientSecretLooksLikeId: typeof raw.clientSecret === "string" && UUID.test(raw.clientSecret),
        clientSecretHasControlCharacter: typeof raw.clientSecret === "string" && /[\x00-\x1f\x7f]/.test(raw.clientSecret),
    };
}

/** Reads and validates the current stack's configuration; secrets come back as Pulumi secrets. */
export function loadConfig(): {
    config: WorkbenchConfig;
    sshPrivateKey?: pulumi.Output<string>;
    clientSecret?: pulumi.Output<string>;
    bastionPrivateKey?: pulumi.Output<string>;
    nodePrivateKeys?: pulumi.Output<Record<string, string>>;
} {
    // Loaded here, not at the top: `npm run check` uses the rest of this module and starts faster without the SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const raw = projectConfig(pulumi.runtime.allConfig());
    const reader = new pulumi.Config(CONFIG_NAMESPACE);
    const sshPrivateKey = reader.getSecret("sshPrivateKey");
    const clientSecret = reader.getSecret("clientSecret");
    // Internal to the SDK (not in its typings): absent, the check is skipped.
    const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    // Previews never connect: CI previews of pull requests need not hold the production SSH key. A stack that
    // gives some nodes (or the bastion) their own keys is checked for a key per node, preview or not.
    const previewWithoutKey =
        sshPrivateKey === undefined && raw.nodePrivateKeys === undefined && raw.bastionPrivateKey === undefined && pulumi.runtime.isDryRun();
    if (previewWithoutKey) pulumi.log.warn(`${CONFIG_NAMESPACE}:sshPrivateKey is not set: this preview works, pulumi up will refuse to run without it`);
    const facts = secretFacts(
        raw,
        { sshPrivateKey: sshPrivateKey !== undefined || previewWithoutKey, clientSecret: clientSecret !== undefined },
        isConfigSecret && ((key) => isConfigSecret(`${CONFIG_NAMESPACE}:${key}`)),
    );
    return {
        config: parseConfig(raw, pulumi.getStack(), facts),
        sshPrivateKey,
        clientSecret,
        bastionPrivateKey: reader.getSecret("bastionPrivateKey"),
        nodePrivateKeys: reader.getSecretObject<Record<string, string>>("nodePrivateKeys"),
    };
}
