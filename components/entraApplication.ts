import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import { MICROSOFT_GRAPH_APP_ID } from "../config";
import { UserError } from "../errors";

/** "Integrate any other application you don't find in the gallery" (the non-gallery template). */
export const NON_GALLERY_TEMPLATE_ID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
/** The `User` app role that service principals of the non-gallery template carry (its `value` is empty). */
export const USER_ROLE_DISPLAY_NAME = "User";
export { MICROSOFT_GRAPH_APP_ID };
/** Microsoft Graph delegated permissions an OpenID Connect sign-in needs. */
export const GRAPH_DELEGATED_SCOPES = {
    openid: "37f7f235-527c-4136-accd-4a02d197296e",
    profile: "14dad69e-099b-42c9-810b-d002981feec1",
    email: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
} as const;

export interface EntraApplicationArgs {
    /** Display name of the enterprise application and its app registration. */
    displayName: string;
    /** The Web redirect URI, `https://<hostname>/openid/callback`. */
    redirectUri: string;
    /** Which groups go into the `groups` claim; "ApplicationGroup" sends only groups assigned to the app. */
    groupsClaim: "ApplicationGroup" | "SecurityGroup" | "All" | "None";
    /** Object ids of users assigned to the app (assignment is required to sign in). */
    assignedUsers: string[];
    /** Object ids of security groups assigned to the app (needs Entra ID P1/P2; nested groups are not expanded). */
    assignedGroups: string[];
    /** Display names of security groups to assign, resolved at deploy time. */
    assignedGroupNames: string[];
    /** Grant tenant-wide admin consent for the Graph scopes and the delegated permissions (the deploying identity needs Directory.ReadWrite.All). */
    adminConsent: boolean;
    /** Delegated permissions on other APIs (Posit's Delegated Azure Credentials), by the API's application id and permission names. */
    delegatedPermissions?: DelegatedPermission[];
}

/** Delegated permissions on one API, e.g. Azure Storage's `user_impersonation`. */
export interface DelegatedPermission {
    /** The API's application (client) id. */
    resourceAppId: string;
    /** The names of its delegated permissions (its `oauth2PermissionScopes` values). */
    scopes: string[];
}

/**
 * The enterprise application from the non-gallery template, with "assignment required", its app
 * registration (redirect URI, Graph scopes, groups claim) and its user and group assignments.
 */
export class EntraApplication extends pulumi.ComponentResource {
    /** The application (client) id. */
    readonly clientId: pulumi.Output<string>;
    /** The app registration's resource id, `/applications/<objectId>`. */
    readonly applicationId: pulumi.Output<string>;
    /** The enterprise application (service principal). */
    readonly servicePrincipal: azuread.ServicePrincipal;
    /** The id of the template's `User` app role. */
    readonly userRoleId: pulumi.Output<string>;

    constructor(name: string, args: EntraApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workbench:entra:Application", name, {}, opts);
        const featureTags = [{ enterprise: true, customSingleSignOn: true }];

        // Each API's service principal in the tenant tells its permissions' ids; the registration lists ids.
        const apis = (args.delegatedPermissions ?? []).map((permission) => ({
            permission,
            servicePrincipal: azuread.getServicePrincipalOutput({ clientId: permission.resourceAppId }, { parent: this }),
        }));
        const app = new azuread.Application(
            name,
            {
                displayName: args.displayName,
                templateId: NON_GALLERY_TEMPLATE_ID,
                featureTags,
                web: { redirectUris: [args.redirectUri] },
                groupMembershipClaims: [args.groupsClaim],
                optionalClaims: {
                    idTokens: [
                        { name: "email" },
                        { name: "preferred_username" },
                        ...(args.groupsClaim === "None" ? [] : [{ name: "groups", additionalProperties: ["cloud_displayname"] }]),
                    ],
                },
                requiredResourceAccesses: [
                    {
                        resourceAppId: MICROSOFT_GRAPH_APP_ID,
                        resourceAccesses: Object.values(GRAPH_DELEGATED_SCOPES).map((id) => ({ id, type: "Scope" })),
                    },
                    ...apis.map(({ permission, servicePrincipal }) => ({
                        resourceAppId: permission.resourceAppId,
                        resourceAccesses: pulumi
                            .all([servicePrincipal.oauth2PermissionScopeIds, servicePrincipal.displayName])
                            .apply(([ids, displayName]) => delegatedScopeIds(permission, displayName, ids).map((id) => ({ id, type: "Scope" }))),
                    })),
                ],
            },
            // The template gives the app its roles (`User`, which the assignments use, and `msiam_access`).
            // The program declares none, and a refresh (`pulumi up --refresh`, the rotation command) reads
            // them into the state: without `appRoles` here that up disables and deletes them; without
            // `appRoleIds` (which the provider then marks as changing) it still updates the app every time.
            { parent: this, ignoreChanges: ["appRoles", "appRoleIds"] },
        );

        const sp = new azuread.ServicePrincipal(
            name,
            { clientId: app.clientId, useExisting: true, appRoleAssignmentRequired: true, featureTags },
            { parent: this },
        );

        this.userRoleId = sp.appRoles.apply((roles) => {
            const role = roles.find((r) => r.displayName === USER_ROLE_DISPLAY_NAME);
            if (!role)
                throw new Error(
                    `the enterprise application has no "${USER_ROLE_DISPLAY_NAME}" app role; was it created from template ${NON_GALLERY_TEMPLATE_ID}?`,
                );
            return role.id;
        });

        const assign = (kind: string, key: string, principalObjectId: pulumi.Input<string>) =>
            new azuread.AppRoleAssignment(
                `${name}-${kind}-${key}`,
                { appRoleId: this.userRoleId, principalObjectId, resourceObjectId: sp.objectId },
                { parent: this },
            );
        for (const id of args.assignedUsers) assign("user", id, id);
        for (const id of args.assignedGroups) assign("group", id, id);
        for (const displayName of args.assignedGroupNames) {
            const group = azuread.getGroupOutput({ displayName, securityEnabled: true }, { parent: this });
            assign("group", displayName.toLowerCase().replace(/[^a-z0-9]+/g, "-"), group.objectId);
        }

        if (args.adminConsent) {
            const graph = azuread.getServicePrincipalOutput({ clientId: MICROSOFT_GRAPH_APP_ID }, { parent: this });
            new azuread.ServicePrincipalDelegatedPermissionGrant(
                `${name}-admin-consent`,
                {
                    servicePrincipalObjectId: sp.objectId,
                    resourceServicePrincipalObjectId: graph.objectId,
                    claimValues: Object.keys(GRAPH_DELEGATED_SCOPES),
                },
                { parent: this },
            );
            for (const { permission, servicePrincipal } of apis) {
                new azuread.ServicePrincipalDelegatedPermissionGrant(
                    `${name}-admin-consent-${permission.resourceAppId.toLowerCase()}`,
                    { servicePrincipalObjectId: sp.objectId, resourceServicePrincipalObjectId: servicePrincipal.objectId, claimValues: permission.scopes },
                    { parent: this },
                );
            }
        }

        this.clientId = app.clientId;
        this.applicationId = app.id;
        this.servicePrincipal = sp;
        this.registerOutputs({ clientId: this.clientId, applicationId: this.applicationId, servicePrincipalObjectId: sp.objectId });
    }
}

/** The ids of an API's delegated permissions, by name; throws, naming the ones it does not expose. */
export function delegatedScopeIds(permission: DelegatedPermission, apiName: string, ids: Record<string, string>): string[] {
    const missing = permission.scopes.filter((scope) => !ids[scope]);
    if (missing.length) {
        const exposed = Object.keys(ids).sort();
        throw new UserError(
            `delegatedPermissions: ${apiName} (${permission.resourceAppId}) has no delegated permission ${missing.map((m) => `"${m}"`).join(", ")}; ` +
                (exposed.length ? `it exposes ${exposed.join(", ")}` : "it exposes none"),
        );
    }
    return permission.scopes.map((scope) => ids[scope]);
}
