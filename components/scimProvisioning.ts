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
                ],
            },
            { parent: this },
        );
        const job = new azuread.SynchronizationJob(
            name,
            { servicePrincipalId: args.servicePrincipalId, templateId: args.jobTemplate, enabled: true },
            { parent: this, dependsOn: [secret] },
        );
        this.jobId = job.id;
        this.registerOutputs({ jobId: this.jobId });
    }
}
