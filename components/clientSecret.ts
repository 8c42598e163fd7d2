import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import * as time from "@pulumiverse/time";

export interface RotatingClientSecretArgs {
    /** The app registration's resource id, `/applications/<objectId>`. */
    applicationId: pulumi.Input<string>;
    /** Display name of the secret in the portal. */
    displayName: string;
    /** A new secret is created once this many days have passed (on `pulumi up --refresh`). */
    rotationDays: number;
    /** How long a secret stays valid after its rotation is due, so a late `up` still finds it working. */
    graceDays: number;
}

/** The end date of a secret whose rotation is due at `rotationRfc3339`. */
export function secretEndDate(rotationRfc3339: string, graceDays: number): string {
    const due = new Date(rotationRfc3339);
    if (Number.isNaN(due.getTime())) throw new Error(`invalid rotation timestamp "${rotationRfc3339}"`);
    return new Date(due.getTime() + graceDays * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The app registration's client secret, with an end date, replaced every `rotationDays`. A
 * replacement creates the new secret first, so the old one stays valid until the host has the new one.
 */
export class RotatingClientSecret extends pulumi.ComponentResource {
    /** The secret's value (a Pulumi secret). */
    readonly value: pulumi.Output<string>;
    /** The secret's key id (not secret): shown in the portal under Certificates & secrets. */
    readonly keyId: pulumi.Output<string>;
    readonly endDate: pulumi.Output<string>;

    constructor(name: string, args: RotatingClientSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workbench:entra:RotatingClientSecret", name, {}, opts);
        const rotation = new time.Rotating(`${name}-rotation`, { rotationDays: args.rotationDays }, { parent: this });
        const password = new azuread.ApplicationPassword(
            name,
            {
                applicationId: args.applicationId,
                displayName: args.displayName,
                endDate: rotation.rotationRfc3339.apply((due) => secretEndDate(due, args.graceDays)),
                rotateWhenChanged: { rotation: rotation.id },
            },
            { parent: this },
        );
        this.value = pulumi.secret(password.value);
        this.keyId = password.keyId;
        this.endDate = password.endDate;
        this.registerOutputs({ keyId: this.keyId, endDate: this.endDate });
    }
}
