import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import * as time from "@pulumiverse/time";
import { loadConfig } from "./config";
import { RotatingClientSecret } from "./components/clientSecret";
import { EntraApplication } from "./components/entraApplication";
import { ScimProvisioning } from "./components/scimProvisioning";
import { scimCertificateGate } from "./components/scimCertificateGate";
import { WorkbenchCluster } from "./components/workbenchCluster";
import { issuerFor, rserverSettings } from "./host/settings";
import { requireSupportedNode } from "./runtime";

requireSupportedNode();
const { config, sshPrivateKey, bastionPrivateKey, nodePrivateKeys, clientSecret: externalClientSecret } = loadConfig();
const name = "workbench";

// Entra ID: created and managed by this stack, or owned by another team ("external").
const entra =
    config.entraMode === "managed"
        ? (() => {
              const app = new EntraApplication(name, {
                  displayName: config.appDisplayName,
                  redirectUri: config.redirectUri,
                  groupsClaim: config.groupsClaim,
                  assignedUsers: config.assignedUsers,
                  assignedGroups: config.assignedGroups,
                  assignedGroupNames: config.assignedGroupNames,
                  adminConsent: config.adminConsent,
                  delegatedPermissions: config.delegatedPermissions,
              });
              const secret = new RotatingClientSecret(`${name}-client-secret`, {
                  applicationId: app.applicationId,
                  displayName: `Posit Workbench OIDC (${config.stack})`,
                  rotationDays: config.secretRotationDays,
                  graceDays: config.secretGraceDays,
              });
              return {
                  tenantId: azuread.getClientConfigOutput().tenantId,
                  clientId: app.clientId,
                  clientSecret: secret.value,
                  clientSecretEndDate: secret.endDate,
                  servicePrincipal: app.servicePrincipal,
              };
          })()
        : {
              tenantId: pulumi.output(config.tenantId!),
              clientId: pulumi.output(config.clientId!),
              clientSecret: externalClientSecret!,
              clientSecretEndDate: undefined,
              servicePrincipal: undefined,
          };

// With a managed app the stack replaces the SCIM token before it expires and hands Entra ID the new
// one (on `pulumi up --refresh`). With an external app the owners would not learn of a new token.
const scimTokenRotation =
    config.provisioning === "scim" && config.entraMode === "managed"
        ? new time.Rotating(`${name}-scim-token-rotation`, { rotationDays: config.scimTokenRotationDays }).id
        : undefined;

const workbench = new WorkbenchCluster(name, {
    targets: config.hosts,
    privateKey: sshPrivateKey,
    bastionPrivateKey,
    nodePrivateKeys,
    stack: config.stack,
    clientId: entra.clientId,
    clientSecret: entra.clientSecret,
    settings: entra.tenantId.apply((tenantId) => rserverSettings(config, tenantId)),
    scimTokenDays: config.provisioning === "scim" ? config.scimTokenDays : undefined,
    jitGroups: config.jitGroups,
    scimTokenRotation,
});

const scim =
    workbench.scimToken && entra.servicePrincipal
        ? new ScimProvisioning(`${name}-scim`, {
              servicePrincipalId: entra.servicePrincipal.id,
              baseAddress: config.scimBaseAddress,
              token: workbench.scimToken,
              jobTemplate: config.scimJobTemplate,
              notificationEmail: config.provisioningNotificationEmail,
              ready: scimCertificateGate(config.scimBaseAddress, {
                  dryRun: pulumi.runtime.isDryRun(),
                  allowUntrusted: config.allowUntrustedScimCertificate,
                  warn: (message) => pulumi.log.warn(message),
              }),
          })
        : undefined;

export const clientId = entra.clientId;
export const tenantId = entra.tenantId;
export const issuer = entra.tenantId.apply(issuerFor);
export const redirectUri = config.redirectUri;
export const enterpriseAppObjectId = entra.servicePrincipal?.objectId ?? "managed outside this stack";
export const clientSecretEndDate = entra.clientSecretEndDate ?? "managed outside this stack";
export const provisioningMode = config.provisioning;
export const scimBaseAddress = config.provisioning === "scim" ? config.scimBaseAddress : "not used (JIT provisioning)";
export const scimStatus =
    config.provisioning === "jit"
        ? "not used (JIT provisioning)"
        : scim
          ? scim.jobId.apply((id) => `synchronization job ${id} enabled, tenant URL ${config.scimBaseAddress}`)
          : `token generated on the host; give Entra ID the scimToken output and the tenant URL ${config.scimBaseAddress}`;
/** The token itself only when another team owns the Entra app: they need it to set up provisioning. */
export const scimToken =
    config.provisioning === "jit" ? "not used (JIT provisioning)" : scim ? "handed to Entra ID by this stack (not exported)" : workbench.scimToken;
export const hostOsFamilies = workbench.osFamilies;
