import { describe, expect, it } from "vitest";
import { NON_GALLERY_TEMPLATE_ID, GRAPH_DELEGATED_SCOPES, MICROSOFT_GRAPH_APP_ID, delegatedScopeIds } from "../../components/entraApplication";
import { UserError } from "../../errors";
import {
    baseConfig,
    byType,
    CLIENT_ID,
    CLIENT_SECRET,
    commandNamed,
    ENCRYPTED_SECRET,
    HOST_KEY,
    isSecretValue,
    reveal,
    runProgram,
    SCIM_TOKEN,
    SSH_PRIVATE_KEY,
    TENANT_ID,
    USER_ROLE_ID,
    AZURE_STORAGE_APP_ID,
    AZURE_STORAGE_IMPERSONATION_ID,
} from "./program";

const HOST_STEPS = ["preflight", "encrypt-client-secret", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "restart"];

describe("the program in managed mode (JIT)", async () => {
    const { resources, exports, secretExports } = await runProgram(baseConfig());

    it("creates the enterprise app from the non-gallery template with its redirect URI and scopes", () => {
        const [app] = byType(resources, "azuread:index/application:Application");
        expect(app.inputs.templateId).toBe(NON_GALLERY_TEMPLATE_ID);
        expect(app.inputs.web.redirectUris).toEqual(["https://workbench.example.com/openid/callback"]);
        expect(app.inputs.featureTags).toEqual([{ enterprise: true, customSingleSignOn: true }]);
        expect(app.inputs.groupMembershipClaims).toEqual(["ApplicationGroup"]);
        expect(app.inputs.appRoles).toBeUndefined();
        const [graph] = app.inputs.requiredResourceAccesses;
        expect(graph.resourceAppId).toBe(MICROSOFT_GRAPH_APP_ID);
        expect(graph.resourceAccesses.map((a: { id: string }) => a.id).sort()).toEqual(Object.values(GRAPH_DELEGATED_SCOPES).sort());
        expect(graph.resourceAccesses.every((a: { type: string }) => a.type === "Scope")).toBe(true);
    });

    it("requires assignment on the service principal, adopting the one the template created", () => {
        const [sp] = byType(resources, "azuread:index/servicePrincipal:ServicePrincipal");
        expect(sp.inputs).toMatchObject({ clientId: CLIENT_ID, useExisting: true, appRoleAssignmentRequired: true });
    });

    it("assigns users and groups the template's User role on the service principal's object id", () => {
        const assignments = byType(resources, "azuread:index/appRoleAssignment:AppRoleAssignment");
        expect(assignments).toHaveLength(2);
        for (const a of assignments) {
            expect(a.inputs.appRoleId).toBe(USER_ROLE_ID);
            expect(a.inputs.resourceObjectId).toBe("sp-object-id");
        }
        expect(assignments.map((a) => a.inputs.principalObjectId).sort()).toEqual(
            [...(baseConfig().assignedUsers as string[]), ...(baseConfig().assignedGroups as string[])].sort(),
        );
    });

    it("gives the client secret an end date after its rotation and ties it to the rotation", () => {
        const [password] = byType(resources, "azuread:index/applicationPassword:ApplicationPassword");
        expect(password.inputs.applicationId).toBe("/applications/app-object-id");
        expect(password.inputs.endDate).toBe("2027-06-27T10:00:00Z");
        expect(password.inputs.rotateWhenChanged).toEqual({ rotation: "workbench-client-secret-rotation-id" });
        const [rotation] = byType(resources, "time:index/rotating:Rotating");
        expect(rotation.inputs.rotationDays).toBe(180);
    });

    it("creates no SCIM resources and no consent grant unless asked", () => {
        expect(byType(resources, "azuread:index/synchronizationSecret:SynchronizationSecret")).toHaveLength(0);
        expect(byType(resources, "azuread:index/synchronizationJob:SynchronizationJob")).toHaveLength(0);
        expect(byType(resources, "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant")).toHaveLength(0);
        expect(resources.some((r) => r.name.endsWith("-scim-token"))).toBe(false);
    });

    it("runs every host step over a pinned SSH connection", () => {
        for (const step of HOST_STEPS) {
            const cmd = commandNamed(resources, step);
            const connection = reveal(cmd.inputs.connection);
            expect(isSecretValue(cmd.inputs.connection), step).toBe(true);
            expect(connection).toMatchObject({ host: "10.0.0.5", port: 22, user: "azureuser", hostKey: HOST_KEY });
            expect(cmd.inputs.triggers).toEqual(["10.0.0.5:22"]);
            expect(cmd.inputs.create).toMatch(new RegExp(`^(sudo -n true .*; )?sudo -n env WB_STEP='${step}' `));
            expect(cmd.inputs.delete).toMatch(new RegExp(`bash -c '.*' '/var/lib/posit-workbench-entra/scripts/[^/]+/${step}-v\\d+\\.sh' remove$`, "s"));
        }
    });

    it("sends the client secret on stdin only, as a secret, and writes its encrypted form", () => {
        const encrypt = commandNamed(resources, "encrypt-client-secret");
        expect(isSecretValue(encrypt.inputs.stdin)).toBe(true);
        expect(reveal(encrypt.inputs.stdin)).toBe(
            `secure-cookie-key-sha256=${"b".repeat(64)} preflight=workbench-10-0-0-5-22-preflight-id\n${CLIENT_SECRET}\n`,
        );
        const write = commandNamed(resources, "client-secret");
        expect(isSecretValue(write.inputs.stdin)).toBe(true);
        expect(reveal(write.inputs.stdin)).toBe(
            `secure-cookie-key-sha256=${"b".repeat(64)} preflight=workbench-10-0-0-5-22-preflight-id\n${ENCRYPTED_SECRET}\n`,
        );
        expect(write.inputs.create).toContain(`WB_CLIENT_ID='${CLIENT_ID}'`);
    });

    it("writes the issuer, username claim and JIT keys into rserver.conf", () => {
        const create: string = commandNamed(resources, "rserver-conf").inputs.create;
        const settings = /WB_SETTINGS='([^']*)'/.exec(create)?.[1].split("\n");
        expect(settings).toEqual([
            "auth-openid=1",
            `auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
            "auth-openid-username-claim=preferred_username",
            "user-provisioning-enabled=1",
            "user-provisioning-register-on-first-login=1",
            "auth-pam-sessions-enabled=1",
            "server-health-check-enabled=1",
        ]);
    });

    it("keeps secrets out of every command string and every plain value", () => {
        const plain = JSON.stringify(resources.map((r) => Object.fromEntries(Object.entries(r.inputs).filter(([, v]) => !isSecretValue(v)))));
        for (const secret of [CLIENT_SECRET, SSH_PRIVATE_KEY, "unit-test-private-key"]) expect(plain).not.toContain(secret);
        for (const cmd of byType(resources, "command:remote:Command")) {
            expect(`${cmd.inputs.create}${cmd.inputs.delete}`).not.toContain(CLIENT_SECRET);
        }
    });

    it("exports what a person needs, and nothing secret in the clear", () => {
        expect(exports).toMatchObject({
            clientId: CLIENT_ID,
            tenantId: TENANT_ID,
            issuer: `https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
            redirectUri: "https://workbench.example.com/openid/callback",
            enterpriseAppObjectId: "sp-object-id",
            provisioningMode: "jit",
            scimStatus: "not used (JIT provisioning)",
            hostOsFamilies: ["debian"],
            scimToken: "not used (JIT provisioning)",
        });
        const all = JSON.stringify(exports);
        expect(all).not.toContain(CLIENT_SECRET);
        expect(Object.values(secretExports).some(Boolean)).toBe(false);
    });
});

describe("the program in SCIM mode", async () => {
    const { resources, exports } = await runProgram({ ...baseConfig(), provisioning: "scim", startUid: 10000, homeDirPath: "/mnt/home" });

    it("generates the token on the host with its output kept secret and unlogged", () => {
        const token = commandNamed(resources, "scim-token");
        expect(token.inputs.logging).toBe("none");
        expect(token.inputs.create).toContain("WB_TOKEN_NAME='Entra ID User Provisioning Token (pulumi prod)'");
        expect(token.inputs.create).toContain("WB_TOKEN_DAYS='365'");
    });

    it("gives Entra ID the tenant URL and the token as synchronization secret, then enables the scim job", () => {
        const [secret] = byType(resources, "azuread:index/synchronizationSecret:SynchronizationSecret");
        expect(secret.inputs.servicePrincipalId).toBe("/servicePrincipals/sp-object-id");
        expect(isSecretValue(secret.inputs.credentials)).toBe(true);
        expect(reveal(secret.inputs.credentials)).toEqual([
            { key: "BaseAddress", value: "https://workbench.example.com/scim/v2" },
            { key: "SecretToken", value: SCIM_TOKEN },
            { key: "SyncAll", value: "false" },
        ]);
        const [job] = byType(resources, "azuread:index/synchronizationJob:SynchronizationJob");
        expect(job.inputs).toMatchObject({ servicePrincipalId: "/servicePrincipals/sp-object-id", templateId: "scim", enabled: true });
    });

    it("writes the SCIM keys: no register-on-first-login, start uid and home path", () => {
        const create: string = commandNamed(resources, "rserver-conf").inputs.create;
        const settings = /WB_SETTINGS='([^']*)'/.exec(create)?.[1].split("\n") ?? [];
        expect(settings).not.toContain("user-provisioning-register-on-first-login=1");
        expect(settings).toEqual(expect.arrayContaining(["user-provisioning-start-uid=10000", "user-homedir-path=/mnt/home"]));
        expect(create).toContain("user-provisioning-register-on-first-login"); // still managed, so it is removed
    });

    it("replaces the token 30 days before it expires", () => {
        const rotation = resources.find((r) => r.name === "workbench-scim-token-rotation");
        expect(rotation?.inputs.rotationDays).toBe(335);
        expect(commandNamed(resources, "scim-token").inputs.create).toContain("WB_TOKEN_ROTATION='workbench-scim-token-rotation-id'");
        expect(commandNamed(resources, "scim-token").inputs.triggers).toEqual(["10.0.0.5:22"]);
        expect(commandNamed(resources, "restart").inputs.triggers).toEqual(["10.0.0.5:22"]);
    });

    it("uses the scim synchronization template unless configured", () => {
        const [job] = byType(resources, "azuread:index/synchronizationJob:SynchronizationJob");
        expect(job.inputs.templateId).toBe("scim");
    });

    it("reports the job and does not export the token", () => {
        expect(exports.scimStatus).toBe("synchronization job workbench-scim-id enabled, tenant URL https://workbench.example.com/scim/v2");
        expect(exports.scimToken).toBe("handed to Entra ID by this stack (not exported)");
        expect(JSON.stringify(exports)).not.toContain(SCIM_TOKEN);
    });
});

describe("a SCIM stack with assigned groups, admin groups, OpenID scopes and extra settings", async () => {
    const groups = { assignedGroups: ["7c0b6a0e-3b1f-4f8e-9a3d-2b5c7d9e1f20"], assignedGroupNames: ["Workbench Users"] };
    const { resources } = await runProgram({
        ...baseConfig(),
        ...groups,
        provisioning: "scim",
        groupStartGid: 20000,
        adminGroups: ["Workbench Admins"],
        adminSuperuserGroups: ["Workbench Superusers"],
        openidScopes: ["openid", "profile", "email", "offline_access"],
        extraSettings: { "auth-timeout-minutes": 60, "www-frame-origin": "none" },
    });

    // Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint": the group mapping is one of the
    // template's two attribute mappings and is on unless disabled. Groups assigned to the app are provisioned.
    it("assigns the groups to the service principal and provisions with the scim template (its group mapping is on by default)", () => {
        const groupAssignments = byType(resources, "azuread:index/appRoleAssignment:AppRoleAssignment").filter((a) => a.name.startsWith("workbench-group-"));
        expect(groupAssignments.map((a) => a.inputs.principalObjectId).sort()).toEqual([groups.assignedGroups[0], "group-object-id-of-Workbench Users"].sort());
        for (const a of groupAssignments) expect(a.inputs).toMatchObject({ appRoleId: USER_ROLE_ID, resourceObjectId: "sp-object-id" });
        const [job] = byType(resources, "azuread:index/synchronizationJob:SynchronizationJob");
        expect(job.inputs).toMatchObject({ servicePrincipalId: "/servicePrincipals/sp-object-id", templateId: "scim", enabled: true });
        const [secret] = byType(resources, "azuread:index/synchronizationSecret:SynchronizationSecret");
        expect(reveal(secret.inputs.credentials)).toContainEqual({ key: "SyncAll", value: "false" });
    });

    it("writes the group GID, admin groups, scopes and extra settings into rserver.conf, one line each, and manages the extra keys", () => {
        const create: string = commandNamed(resources, "rserver-conf").inputs.create;
        const settings = /WB_SETTINGS='([^']*)'/.exec(create)?.[1].split("\n") ?? [];
        expect(settings).toEqual(
            expect.arrayContaining([
                "group-provisioning-start-gid=20000",
                "admin-enabled=1",
                "admin-group=Workbench Admins",
                "admin-superuser-group=Workbench Superusers",
                "auth-openid-scopes=openid profile email offline_access",
                "auth-timeout-minutes=60",
                "www-frame-origin=none",
            ]),
        );
        expect(settings.slice(-2)).toEqual(["auth-timeout-minutes=60", "www-frame-origin=none"]);
        expect(/WB_MANAGED_KEYS='([^']*)'/.exec(create)?.[1].split(" ")).toEqual(
            expect.arrayContaining(["group-provisioning-start-gid", "admin-group", "auth-openid-scopes", "auth-timeout-minutes", "www-frame-origin"]),
        );
    });
});

describe("the program with admin consent and group names", async () => {
    const { resources } = await runProgram({ ...baseConfig(), adminConsent: true, assignedGroupNames: ["Workbench Users"] });

    it("grants consent for the Graph scopes on Graph's service principal", () => {
        const [grant] = byType(resources, "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant");
        expect(grant.inputs).toMatchObject({ servicePrincipalObjectId: "sp-object-id", resourceServicePrincipalObjectId: "graph-sp-object-id" });
        expect(grant.inputs.claimValues.sort()).toEqual(Object.keys(GRAPH_DELEGATED_SCOPES).sort());
    });

    it("assigns a group found by its display name", () => {
        const assignment = resources.find((r) => r.name === "workbench-group-workbench-users");
        expect(assignment?.inputs.principalObjectId).toBe("group-object-id-of-Workbench Users");
    });
});

describe("the program with JIT groups and delegated Azure credentials", async () => {
    const delegated = { resourceAppId: AZURE_STORAGE_APP_ID, scopes: ["user_impersonation"] };
    const { resources } = await runProgram({
        ...baseConfig(),
        jitGroups: true,
        adminConsent: true,
        openidScopes: ["openid", "profile", "email", "offline_access"],
        delegatedPermissions: [delegated],
    });

    it("requests the groups claim with display names, and asks the preflight for the release that provisions JIT groups", () => {
        const [app] = byType(resources, "azuread:index/application:Application");
        expect(app.inputs.groupMembershipClaims).toEqual(["ApplicationGroup"]);
        expect(app.inputs.optionalClaims.idTokens).toContainEqual({ name: "groups", additionalProperties: ["cloud_displayname"] });
        expect(commandNamed(resources, "preflight").inputs.create).toContain("WB_PROVISIONING='jit-groups'");
    });

    it("adds the API's delegated permission to the registration by its id, and consents to it for the tenant", () => {
        const [app] = byType(resources, "azuread:index/application:Application");
        expect(app.inputs.requiredResourceAccesses).toContainEqual({
            resourceAppId: AZURE_STORAGE_APP_ID,
            resourceAccesses: [{ id: AZURE_STORAGE_IMPERSONATION_ID, type: "Scope" }],
        });
        const grants = byType(resources, "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant");
        expect(grants.map((g) => [g.inputs.resourceServicePrincipalObjectId, g.inputs.claimValues])).toEqual([
            ["graph-sp-object-id", expect.arrayContaining(["openid"])],
            ["storage-sp-object-id", ["user_impersonation"]],
        ]);
        const settings = /WB_SETTINGS='([^']*)'/.exec(commandNamed(resources, "rserver-conf").inputs.create)?.[1].split("\n") ?? [];
        expect(settings).toContain("auth-openid-scopes=openid profile email offline_access");
    });

    it("stops, naming the API and what it exposes, when a permission does not exist", () => {
        const ids = { user_impersonation: AZURE_STORAGE_IMPERSONATION_ID };
        expect(delegatedScopeIds(delegated, "Azure Storage", ids)).toEqual([AZURE_STORAGE_IMPERSONATION_ID]);
        expect(() => delegatedScopeIds({ ...delegated, scopes: ["user_impersonation", "Files.Read"] }, "Azure Storage", ids)).toThrow(
            new UserError(
                `delegatedPermissions: Azure Storage (${AZURE_STORAGE_APP_ID}) has no delegated permission "Files.Read"; it exposes user_impersonation`,
            ),
        );
        expect(() => delegatedScopeIds(delegated, "Some API", {})).toThrow(/has no delegated permission "user_impersonation"; it exposes none$/);
    });
});

describe("the program in external (host-only) mode", async () => {
    const external = {
        ...baseConfig(),
        assignedUsers: [],
        assignedGroups: [],
        entraMode: "external",
        tenantId: TENANT_ID,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        provisioning: "scim",
    };
    const { resources, exports, secretExports } = await runProgram(external);

    it("creates no Entra ID resources", () => {
        expect(resources.filter((r) => r.type.startsWith("azuread:") || r.type.startsWith("time:"))).toEqual([]);
    });

    it("configures the host with the configured client id and secret", () => {
        expect(commandNamed(resources, "client-secret").inputs.create).toContain(`WB_CLIENT_ID='${CLIENT_ID}'`);
        const encrypt = commandNamed(resources, "encrypt-client-secret");
        expect(reveal(encrypt.inputs.stdin)).toBe(
            `secure-cookie-key-sha256=${"b".repeat(64)} preflight=workbench-10-0-0-5-22-preflight-id\n${CLIENT_SECRET}\n`,
        );
        expect(isSecretValue(encrypt.inputs.stdin)).toBe(true);
    });

    it("does not rotate a token the app's owners would not learn about", () => {
        expect(resources.some((r) => r.name === "workbench-scim-token-rotation")).toBe(false);
        expect(commandNamed(resources, "scim-token").inputs.triggers).toEqual(["10.0.0.5:22"]);
    });

    it("exports the SCIM token for the app's owners, as a secret", () => {
        expect(exports.scimToken).toBe(SCIM_TOKEN);
        expect(secretExports.scimToken).toBe(true);
        expect(exports.enterpriseAppObjectId).toBe("managed outside this stack");
    });
});

describe("a preview without the SSH private key (CI previews of pull requests)", () => {
    const { sshPrivateKey: _key, ...withoutKey } = baseConfig();

    it("previews, since a preview never connects", async () => {
        const { resources } = await runProgram(withoutKey, { preview: true });
        expect(resources.some((r) => r.type === "command:remote:Command")).toBe(true);
    });

    it("refuses to deploy", async () => {
        await expect(runProgram(withoutKey)).rejects.toThrow(/posit-workbench-entra:sshPrivateKey: required/);
    });
});

describe("bad input", () => {
    it("refuses an SSH private key stored in clear in the stack file", async () => {
        const attempt = runProgram(baseConfig(), { preview: true, secretsInClear: true });
        await expect(attempt).rejects.toThrow(
            /posit-workbench-entra:sshPrivateKey: stored in clear in the stack file; set it with: pulumi config set --secret sshPrivateKey/,
        );
        await expect(attempt).rejects.not.toThrow(/unit-test-private-key/);
    });

    it.each([
        ["a newline", "first-line\nsecond-line-of-the-secret"],
        ["a carriage return", "secret-value-with-a\rreturn"],
        ["a control character", "secret-value-with-an\u0003interrupt"],
    ])("refuses a client secret with %s, without showing it", async (_what, secret) => {
        const external = {
            ...baseConfig(),
            assignedUsers: [],
            assignedGroups: [],
            entraMode: "external",
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            clientSecret: secret,
        };
        const attempt = runProgram(external, { preview: true });
        await expect(attempt).rejects.toThrow(
            /posit-workbench-entra:clientSecret: contains a line break or another control character; expected the secret's Value on one line/,
        );
        await expect(attempt).rejects.not.toThrow(/second-line|with-a|interrupt/);
    });

    it("fails before any resource is registered, naming the key", async () => {
        const attempt = runProgram({ ...baseConfig(), hostname: "https://workbench.example.com/" }, { preview: true });
        await expect(attempt).rejects.toThrow(/posit-workbench-entra:hostname: expected a bare host name without a scheme/);
    });
});
