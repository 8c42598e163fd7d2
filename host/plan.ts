/**
 * The host steps, their order and the values each one gets: shared by the WorkbenchHost component
 * and the tests that drive the same commands over SSH.
 */
import type { HostStep } from "./commands";
import { MANAGED_RSERVER_KEYS, renderSettings, RserverSettings } from "./settings";

export interface HostStepSpec {
    id: HostStep;
    /** Steps that must have run first (on destroy, they are restored after this one). */
    after: HostStep[];
    /** What the step reads on stdin: the client secret, or the digest of the other steps' inputs. */
    stdin?: "client-secret" | "digest";
    /** Its stdout is a secret (never logged, kept secret in state). */
    secretOutput?: boolean;
}

/** Steps that change what Workbench reads; the restart step follows all of them. */
const CONFIGURATION_STEPS: HostStepSpec[] = [
    { id: "client-secret", after: ["preflight"], stdin: "client-secret" },
    { id: "rserver-conf", after: ["client-secret"] },
    { id: "home-directories", after: ["preflight"] },
    { id: "nss", after: ["home-directories"] },
    { id: "nscd", after: ["preflight"] },
];

/** Every step in an order that respects `after`. */
export function hostSteps(scim: boolean): HostStepSpec[] {
    return [
        { id: "preflight", after: [] },
        ...CONFIGURATION_STEPS,
        { id: "restart", after: CONFIGURATION_STEPS.map((s) => s.id), stdin: "digest" },
        ...(scim ? [{ id: "scim-token", after: ["restart"], secretOutput: true } as HostStepSpec] : []),
    ];
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
}

/** The name of the SCIM token in Workbench, per stack so stacks sharing a host do not collide. */
export const scimTokenName = (stack: string) => `Entra ID User Provisioning Token (pulumi ${stack})`;

/** The WB_ variables one step's script reads. */
export function stepEnv(id: HostStep, values: HostValues): Record<string, string> {
    switch (id) {
        case "client-secret":
            return { WB_CLIENT_ID: values.clientId };
        case "rserver-conf":
            return { WB_STACK: values.stack, WB_MANAGED_KEYS: MANAGED_RSERVER_KEYS.join(" "), WB_SETTINGS: renderSettings(values.settings) };
        case "scim-token":
            return { WB_TOKEN_NAME: scimTokenName(values.stack), WB_TOKEN_DAYS: String(values.scimTokenDays ?? 365) };
        default:
            return {};
    }
}
