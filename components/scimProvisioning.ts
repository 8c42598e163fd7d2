import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";

export interface ScimProvisioningArgs {
    /** The service principal's resource id, `/servicePrincipals/<objectId>`. */
    servicePrincipalId: pulumi.Input<string>;
    /** `https://<hostname>/scim/v2`. */
    baseAddress: string;
    /** The bearer token generated on the Workbench host (a Pulumi secret). */
    token: pulumi.Input<string>;
    /** The synchronization template: "scim" for custom SCIM apps ("customappsso" is the 2018 legacy one). */
    jobTemplate: string;
    /** Where Entra ID mails a quarantine notice of the job (`provisioningNotificationEmail`). */
    notificationEmail?: string;
    /** Settles when the job may be created or changed (components/scimCertificateGate.ts); a rejection stops it. */
    ready?: Promise<void>;
}

/**
 * The `SyncNotificationSettings` secret: a JSON string. Its key is listed on Graph's
 * "synchronizationSecretKeyStringValuePair resource type" page
 * (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationsecretkeystringvaluepair:
 * "used to determine if quarantine emails are sent"); its fields on Microsoft's "How to programmatically
 * configure cloud sync using MS Graph API"
 * (https://learn.microsoft.com/en-us/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph):
 * {"Enabled":true,"Recipients":"<email>","DeleteThresholdEnabled":true,"DeleteThresholdValue":50}, where
 * "Enabled" turns the quarantine email on, and accidental-deletion prevention defaults to on with 500. The
 * secrets are replaced as a whole (that page: no PATCH; terraform-provider-azuread's SynchronizationSecret
 * PUTs its whole credential list), so the deletion threshold is written with those defaults, unchanged.
 * UNCONFIRMED: that page is about cloud sync jobs; that a `scim` job reads the same fields is not documented.
 */
export function syncNotificationSettings(email: string): string {
    return JSON.stringify({ Enabled: true, Recipients: email, DeleteThresholdEnabled: true, DeleteThresholdValue: 500 });
}

/** Entra ID's provisioning to Workbench: admin credentials (tenant URL and token) and the enabled job. */
export class ScimProvisioning extends pulumi.ComponentResource {
    readonly jobId: pulumi.Output<string>;

    constructor(name: string, args: ScimProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workbench:entra:ScimProvisioning", name, {}, opts);
        const secret = new azuread.SynchronizationSecret(
            name,
            {
                servicePrincipalId: args.servicePrincipalId,
                credentials: [
                    { key: "BaseAddress", value: args.baseAddress },
                    { key: "SecretToken", value: pulumi.secret(args.token) },
                    // Provision only the users and groups assigned to the app.
                    { key: "SyncAll", value: "false" },
                    ...(args.notificationEmail ? [{ key: "SyncNotificationSettings", value: syncNotificationSettings(args.notificationEmail) }] : []),
                ],
            },
            { parent: this },
        );
        const job = new azuread.SynchronizationJob(
            name,
            {
                servicePrincipalId: args.servicePrincipalId,
                // The same value, once the endpoint's certificate passed (at preview at once): a refused one stops here.
                templateId: pulumi.output((args.ready ?? Promise.resolve()).then(() => args.jobTemplate)),
                enabled: true,
            },
            { parent: this, dependsOn: [secret] },
        );
        this.jobId = job.id;
        this.registerOutputs({ jobId: this.jobId });
    }
}
