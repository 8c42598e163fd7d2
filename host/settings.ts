/**
 * What the program writes into /etc/rstudio/rserver.conf: pure, so it is tested directly.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { WorkbenchConfig } from "../config";

/**
 * Every rserver.conf key this program may own. Keys not wanted by the current config are removed
 * from the file (e.g. switching from JIT to SCIM drops user-provisioning-register-on-first-login).
 * Only options documented by Posit are listed: an unknown option stops rserver from starting.
 */
export const MANAGED_RSERVER_KEYS = [
    "auth-openid",
    "auth-openid-issuer",
    "auth-openid-username-claim",
    "user-provisioning-enabled",
    "user-provisioning-register-on-first-login",
    "user-provisioning-start-uid",
    "user-homedir-path",
    "auth-pam-sessions-enabled",
    "server-health-check-enabled",
    "group-provisioning-start-gid",
    "admin-enabled",
    "admin-group",
    "admin-superuser-group",
    "auth-openid-scopes",
] as const;

export type ManagedRserverKey = (typeof MANAGED_RSERVER_KEYS)[number];

/** The managed keys the program writes, then the stack's extra settings (`extraSettings`, any documented option). */
export type RserverSettings = Partial<Record<ManagedRserverKey, string>> & Record<string, string>;

/** The stack config key that sets each managed key; the others the program sets on its own. */
export const MANAGED_KEY_SOURCES: Partial<Record<ManagedRserverKey, string>> = {
    "auth-openid-username-claim": "usernameClaim",
    "user-provisioning-register-on-first-login": "provisioning",
    "user-provisioning-start-uid": "startUid",
    "user-homedir-path": "homeDirPath",
    "group-provisioning-start-gid": "groupStartGid",
    "admin-enabled": "adminGroups",
    "admin-group": "adminGroups",
    "admin-superuser-group": "adminSuperuserGroups",
    "auth-openid-scopes": "openidScopes",
};

export type RserverOptionType = "bool" | "int" | "str";

/**
 * The documented rserver.conf options and their types, from host/rserver-options.txt (its header names
 * the source). The test stand-in's `test-config` reads the same file.
 */
export const DOCUMENTED_RSERVER_OPTIONS: ReadonlyMap<string, RserverOptionType> = new Map(
    readFileSync(join(__dirname, "rserver-options.txt"), "utf8")
        .split("\n")
        .filter((line) => line.trim() && !line.startsWith("#"))
        .map((line) => {
            const [name, type] = line.trim().split(/\s+/);
            if (type !== "bool" && type !== "int" && type !== "str") throw new Error(`host/rserver-options.txt: "${line}": expected "<name> bool|int|str"`);
            return [name, type] as const;
        }),
);

/** How rserver reads a bool (Boost.Program_options' spellings; the stand-in's test-config takes the same). */
const BOOLEANS = ["1", "0", "true", "false", "yes", "no", "on", "off"];

/**
 * Why an extra setting `option=value` cannot be written, or undefined when it can: an option not in the
 * documented list (an unknown option stops rserver), one the program manages or sets from another key, one
 * it reads before writing rserver.conf, or a value that is not of the option's type or holds a line break.
 */
export function extraSettingProblem(option: string, value: string): string | undefined {
    const type = DOCUMENTED_RSERVER_OPTIONS.get(option);
    if ((MANAGED_RSERVER_KEYS as readonly string[]).includes(option)) {
        const source = MANAGED_KEY_SOURCES[option as ManagedRserverKey];
        return source
            ? `${option} is set by the program from ${source}: set ${source} instead`
            : `${option} is set by the program itself (Entra ID sign-in and provisioning need it): it cannot be an extra setting`;
    }
    if (!type)
        return `${option} is not in the list of documented rserver.conf options (host/rserver-options.txt, from Posit's rserver.conf reference): an unknown option stops rserver from starting. Check the spelling; add a real option to the list with the page that documents it`;
    if (option === "secure-cookie-key-file") {
        return "secure-cookie-key-file is read before rserver.conf is written (the client secret is encrypted with that key): change it on every node by hand, then replace the preflights (pulumi up --replace)";
    }
    if (/[\x00-\x1f\x7f]/.test(value)) return `the value of ${option} holds a line break or another control character; expected one line`;
    if (type === "bool" && !BOOLEANS.includes(value.toLowerCase())) return `${option} takes true or false (or 1/0, yes/no, on/off), got "${value}"`;
    if (type === "int" && !/^\d+$/.test(value)) return `${option} takes a whole number, got "${value}"`;
    return undefined;
}

/** An extra setting's value as rserver.conf spells it: true/false as 1/0, numbers as written. */
export const extraSettingValue = (value: string | number | boolean): string => (typeof value === "boolean" ? (value ? "1" : "0") : String(value));

/**
 * The keys the rserver-conf step owns for these settings: the program's keys and the extra settings'.
 * Every one is removed from the file wherever it is before the wanted lines are written (the step also
 * removes the keys it wrote last time, as recorded on the host: an extra setting dropped from the config).
 */
export const managedRserverKeys = (settings: RserverSettings): string[] => [...new Set([...MANAGED_RSERVER_KEYS, ...Object.keys(settings)])];

/** The OpenID issuer of an Entra ID tenant. */
export function issuerFor(tenantId: string): string {
    return `https://login.microsoftonline.com/${tenantId}/v2.0`;
}

/** The managed keys and their values, in the order they are written. */
export function rserverSettings(
    config: Pick<WorkbenchConfig, "provisioning" | "usernameClaim" | "startUid" | "homeDirPath"> &
        Partial<Pick<WorkbenchConfig, "groupStartGid" | "adminGroups" | "adminSuperuserGroups" | "openidScopes" | "extraSettings">>,
    tenantId: string,
): RserverSettings {
    const adminGroups = config.adminGroups ?? [];
    const superuserGroups = config.adminSuperuserGroups ?? [];
    return {
        "auth-openid": "1",
        "auth-openid-issuer": issuerFor(tenantId),
        "auth-openid-username-claim": config.usernameClaim,
        // Space separated, as Posit's team-operator writes it (api/core/v1beta1/workbench_config.go).
        ...(config.openidScopes?.length ? { "auth-openid-scopes": config.openidScopes.join(" ") } : {}),
        "user-provisioning-enabled": "1",
        ...(config.provisioning === "jit" ? { "user-provisioning-register-on-first-login": "1" } : {}),
        "auth-pam-sessions-enabled": "1",
        ...(config.startUid !== undefined ? { "user-provisioning-start-uid": String(config.startUid) } : {}),
        // Posit's "User provisioning > Configuration" page: the first GID of provisioned groups (Workbench: 1000).
        ...(config.groupStartGid !== undefined ? { "group-provisioning-start-gid": String(config.groupStartGid) } : {}),
        ...(config.homeDirPath !== undefined ? { "user-homedir-path": config.homeDirPath } : {}),
        "server-health-check-enabled": "1",
        // Posit's "Administrative Dashboard" page: admin-enabled turns it on, admin-group and
        // admin-superuser-group take one group or a comma-delimited list.
        ...(adminGroups.length ? { "admin-enabled": "1", "admin-group": adminGroups.join(",") } : {}),
        ...(superuserGroups.length ? { "admin-superuser-group": superuserGroups.join(",") } : {}),
        // Last, in the order of their names (a reordered stack file changes nothing on the host).
        ...Object.fromEntries(Object.entries(config.extraSettings ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    };
}

/** `key=value` lines as they appear in rserver.conf. */
export function renderSettings(settings: RserverSettings): string {
    return Object.entries(settings)
        .map(([key, value]) => `${key}=${value}`)
        .join("\n");
}
