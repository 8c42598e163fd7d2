// The template's app roles are the template's: the app registration the stack makes from the non-gallery
// template carries `User` and `msiam_access`, which the azuread provider reads into the state on a refresh.
// The program declares no roles, so without `appRoles` here `pulumi up --refresh` (the rotation command)
// plans to remove them (disabling, then deleting the `User` role the assignments use), and without
// `appRoleIds` (a computed map the provider marks as changing whenever the roles differ) it updates the app
// on every refresh. Seen through the real provider against the Graph stand-in (test/e2e/managed.test.ts);
// pinned here under Pulumi's mocks.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { EntraApplication } from "../../components/entraApplication";

describe("EntraApplication", () => {
    const options: Record<string, pulumi.CustomResourceOptions> = {};

    beforeAll(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => ({
                    id: `${args.name}-id`,
                    state: {
                        ...args.inputs,
                        ...(args.type.endsWith("ServicePrincipal")
                            ? { objectId: "sp", appRoles: [{ displayName: "User", id: "18d14569-c3bd-439b-9a66-3a2aee01d14f" }] }
                            : {}),
                    },
                }),
                call: () => ({}),
            },
            "posit-workbench-entra",
            "unit",
            false,
        );
        // A component's transformations run for its children too: they see each child's options.
        new EntraApplication(
            "workbench",
            {
                displayName: "Posit Workbench",
                redirectUri: "https://wb.example.com/openid/callback",
                groupsClaim: "ApplicationGroup",
                assignedUsers: [],
                assignedGroups: [],
                assignedGroupNames: [],
                adminConsent: false,
            },
            {
                transformations: [
                    (args) => {
                        options[args.type] = args.opts as pulumi.CustomResourceOptions;
                        return undefined;
                    },
                ],
            },
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
    });

    it("leaves the app roles the template created to the template (no up removes them)", () => {
        expect(options["azuread:index/application:Application"]?.ignoreChanges).toEqual(["appRoles", "appRoleIds"]);
    });
});
