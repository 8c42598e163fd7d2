/**
 * Runs the Pulumi program under Pulumi's mocks with a given stack configuration and records
 * every resource it registers (type, name, inputs as the engine would receive them).
 */
import { vi } from "vitest";

export const TENANT_ID = "11111111-2222-3333-4444-555555555555";
export const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
export const CLIENT_SECRET = "Xq8~client-secret-value-never-in-a-command";
export const SSH_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-private-key\n-----END OPENSSH PRIVATE KEY-----";
export const SCIM_TOKEN = "scim-token-value-from-the-host";
export const ENCRYPTED_SECRET = "0123ABCDencrypted-by-workbench0123ABCD";
export const USER_ROLE_ID = "18d14569-c3bd-439b-9a66-3a2aee01d14f";
export const AZURE_STORAGE_APP_ID = "e406a681-f3d4-42a8-90b6-c2b029497af1";
export const AZURE_STORAGE_IMPERSONATION_ID = "03e0da56-190b-40ad-a80c-ea378c433f7f";
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMXMcq/uGmyi+WqqjV58RFq9mf5ZXy8Y2zZSo5cs75JK";

/** A complete, valid stack configuration (without the namespace prefix). */
export function baseConfig(): Record<string, unknown> {
    return {
        hostname: "workbench.example.com",
        assignedUsers: ["0d5b1f4e-9a1c-4a57-8a59-6e1c3f1b2a10"],
        assignedGroups: ["7c0b6a0e-3b1f-4f8e-9a3d-2b5c7d9e1f20"],
        host: { address: "10.0.0.5", port: 22, user: "azureuser", hostKey: HOST_KEY },
        sshPrivateKey: SSH_PRIVATE_KEY,
    };
}

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** The marker Pulumi's RPC layer puts on secret values. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const isSecretValue = (v: unknown): boolean => typeof v === "object" && v !== null && Object.values(v).includes(SECRET_SIG);
export const reveal = (v: any): any => (isSecretValue(v) ? v.value : v);

export async function runProgram(config: Record<string, unknown>, options: { preview?: boolean; secretsInClear?: boolean; scimEndpoint?: string } = {}) {
    vi.resetModules();
    // The SCIM endpoint probe of an up (components/scimCertificateGate.ts) stays on this machine: where a test
    // serves the endpoint, or a port nothing listens on (unreachable: a warning, the job is created).
    process.env.WORKBENCH_CHECK_SCIM_CONNECT_TO = options.scimEndpoint ?? "127.0.0.1:1";
    const pulumi = await import("@pulumi/pulumi");
    const resources: RecordedResource[] = [];
    const secretKeys = options.secretsInClear
        ? []
        : ["sshPrivateKey", "clientSecret", "bastionPrivateKey", "nodePrivateKeys"].filter((k) => k in config).map((k) => `posit-workbench-entra:${k}`);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`posit-workbench-entra:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
        secretKeys,
    );
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                resources.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, unknown> = { ...args.inputs };
                let id = `${args.name}-id`;
                switch (args.type) {
                    case "azuread:index/application:Application":
                        id = "/applications/app-object-id";
                        state.clientId = CLIENT_ID;
                        break;
                    case "azuread:index/servicePrincipal:ServicePrincipal":
                        id = "/servicePrincipals/sp-object-id";
                        state.objectId = "sp-object-id";
                        state.appRoles = [
                            { displayName: "msiam_access", id: "b9632174-c057-4f7e-951b-be3adc52bfe6", value: "" },
                            { displayName: "User", id: USER_ROLE_ID, value: "" },
                        ];
                        break;
                    case "azuread:index/applicationPassword:ApplicationPassword":
                        state.value = CLIENT_SECRET;
                        state.keyId = "key-id";
                        break;
                    case "time:index/rotating:Rotating":
                        state.rotationRfc3339 = "2027-05-28T10:00:00Z";
                        break;
                    case "command:remote:Command":
                        state.stdout = args.name.endsWith("-scim-token")
                            ? SCIM_TOKEN
                            : args.name.endsWith("-preflight")
                              ? `os-family=debian\nsecure-cookie-key-sha256=${"b".repeat(64)}\n`
                              : args.name.endsWith("-encrypt-client-secret")
                                ? ENCRYPTED_SECRET
                                : "";
                        break;
                }
                return { id, state };
            },
            call(args) {
                switch (args.token) {
                    case "azuread:index/getClientConfig:getClientConfig":
                        return { tenantId: TENANT_ID, clientId: "deployer", objectId: "deployer-object" };
                    case "azuread:index/getGroup:getGroup":
                        return { objectId: `group-object-id-of-${args.inputs.displayName}` };
                    case "azuread:index/getServicePrincipal:getServicePrincipal":
                        // Microsoft Graph's, or another API's (AZURE_STORAGE_APP_ID: its one delegated permission).
                        return args.inputs.clientId === AZURE_STORAGE_APP_ID
                            ? {
                                  objectId: "storage-sp-object-id",
                                  displayName: "Azure Storage",
                                  oauth2PermissionScopeIds: { user_impersonation: AZURE_STORAGE_IMPERSONATION_ID },
                              }
                            : { objectId: "graph-sp-object-id" };
                    default:
                        throw new Error(`unexpected call ${args.token}`);
                }
            },
        },
        "posit-workbench-entra",
        "prod",
        options.preview ?? false,
    );
    const outputs: Record<string, unknown> = await import("../../index");
    const exports: Record<string, unknown> = {};
    const secretExports: Record<string, boolean> = {};
    for (const [key, value] of Object.entries(outputs)) {
        if (pulumi.Output.isInstance(value) && !options.preview) {
            exports[key] = await new Promise((resolve) => value.apply(resolve));
            secretExports[key] = await pulumi.isSecret(value);
        } else {
            exports[key] = value;
            secretExports[key] = false;
        }
    }
    // Let outstanding registrations finish.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { resources, exports, secretExports, pulumi };
}

export const byType = (resources: RecordedResource[], type: string) => resources.filter((r) => r.type === type);
export const commandNamed = (resources: RecordedResource[], step: string) => {
    const once = step === "encrypt-client-secret" || step === "scim-token";
    const found = resources.find((r) => r.type === "command:remote:Command" && r.name === (once ? `workbench-${step}` : `workbench-10-0-0-5-22-${step}`));
    if (!found) throw new Error(`no host step ${step}`);
    return found;
};
