/**
 * What the program writes into /etc/rstudio/rserver.conf: pure, so it is tested directly.
 */
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
] as const;

export type RserverSettings = Partial<Record<(typeof MANAGED_RSERVER_KEYS)[number], string>>;

/** The OpenID issuer of an Entra ID tenant. */
export function issuerFor(tenantId: string): string {
    return `https://login.microsoftonline.com/${tenantId}/v2.0`;
}

/** The managed keys and their values, in the order they are written. */
export function rserverSettings(
    config: Pick<WorkbenchConfig, "provisioning" | "usernameClaim" | "startUid" | "homeDirPath">,
    tenantId: string,
): RserverSettings {
    return {
        "auth-openid": "1",
        "auth-openid-issuer": issuerFor(tenantId),
        "auth-openid-username-claim": config.usernameClaim,
        "user-provisioning-enabled": "1",
        ...(config.provisioning === "jit" ? { "user-provisioning-register-on-first-login": "1" } : {}),
        "auth-pam-sessions-enabled": "1",
        ...(config.startUid !== undefined ? { "user-provisioning-start-uid": String(config.startUid) } : {}),
        ...(config.homeDirPath !== undefined ? { "user-homedir-path": config.homeDirPath } : {}),
        "server-health-check-enabled": "1",
    };
}

/** `key=value` lines as they appear in rserver.conf. */
export function renderSettings(settings: RserverSettings): string {
    return Object.entries(settings)
        .map(([key, value]) => `${key}=${value}`)
        .join("\n");
}
