/**
 * A managed Entra app (entraMode "managed") through the real engine and the real providers: the Pulumi
 * CLI, the Node.js language host, pulumi-resource-command, and pulumi-resource-azuread 6.9.1 and
 * pulumi-resource-time 0.1.1 built from ../shared/vendor (scripts/build-providers.sh), against a
 * stand-in for Entra ID and Microsoft Graph on loopback (test/graph/entra.ts) and a sandbox host.
 *
 * JIT with assignments (a user, a group by id, a group by name) and admin consent: a new stack's
 * preview (nothing written anywhere), up (the app from the non-gallery template, its service principal
 * with assignment required, the client secret that decrypts on the host, the assignments with the
 * template's User role, the consent grant), an up with nothing to change and `up --refresh` (the
 * rotation command) writing nothing to Graph and running nothing on the host, destroy (every Entra object
 * gone, the host back byte for byte). SCIM: the host's token handed to Entra ID (synchronization secret,
 * a started `scim` job), revoked and removed on destroy. After each step the plain state export, the
 * engine's output and its event stream (but its debug diagnostics) are scanned for the client secret
 * Graph issued, the deployer's own secret, the SCIM token and the SSH key.
 */
import { createHash } from "node:crypto";
import type { ConfigMap, EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURE_STORAGE_APP_ID, AZURE_STORAGE_SCOPES, FakeEntra, NON_GALLERY_TEMPLATE_ID, startFakeEntra, TEMPLATE_APP_ROLES } from "../graph/entra";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls } from "../host/driver";
import { workbenchDecrypt } from "../sandbox/rskey";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { EngineStack, newStack, providersUnavailable } from "./engine";
import { NS, secretsIn, sshConnections } from "./stacks";

const HOSTNAME = "workbench.e2e.test";
const USER_ROLE_ID = TEMPLATE_APP_ROLES.find((r) => r.displayName === "User")!.id;
const GROUP_NAME = "Workbench Users";
/** JIT groups (asks the host for 2025.09.0) and delegated Azure credentials on Azure Storage, with their scopes. */
const JIT_EXTRAS = {
    jitGroups: true,
    openidScopes: ["openid", "profile", "email", "offline_access"],
    delegatedPermissions: [{ resourceAppId: AZURE_STORAGE_APP_ID, scopes: ["user_impersonation"] }],
};

function managedConfig(sb: Sandbox, provisioning: "jit" | "scim", extra: Record<string, unknown> = {}): ConfigMap {
    return {
        [`${NS}:hostname`]: { value: HOSTNAME },
        [`${NS}:entraMode`]: { value: "managed" },
        [`${NS}:provisioning`]: { value: provisioning },
        [`${NS}:host`]: { value: JSON.stringify({ address: sb.host, port: sb.port, user: sb.user, hostKey: sb.hostPublicKey }) },
        [`${NS}:sshPrivateKey`]: { value: sb.privateKey, secret: true },
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`${NS}:${k}`, { value: typeof v === "string" ? v : JSON.stringify(v) }])),
    };
}

const decryptedSecretFile = async (sb: Sandbox) => {
    const file = await sb.readFile("/etc/rstudio/openid-client-secret");
    return {
        clientId: /client-id=(.*)/.exec(file)![1],
        secret: await workbenchDecrypt(/client-secret=(.*)/.exec(file)![1], await sb.readFile("/var/lib/rstudio-server/secure-cookie-key")),
    };
};

/** The engine's printed output and event stream (all but the SDK's debug diagnostics, see lifecycle.test.ts). */
function engineWatch() {
    const output: string[] = [];
    const events: string[] = [];
    return {
        output,
        events,
        opts: {
            onOutput: (o: string) => output.push(o),
            onEvent: (event: EngineEvent) => {
                if ((event.diagnosticEvent?.severity as string | undefined) !== "debug") events.push(JSON.stringify(event));
            },
        },
    };
}

describe("a managed Entra app through the real engine and providers", async () => {
    const skip = await providersUnavailable();

    describe.skipIf(skip)("JIT, with assignments and admin consent", () => {
        let sb: Sandbox;
        let graph: FakeEntra;
        let e: EngineStack;
        let before: Record<string, string>;
        let userId = "";
        let groupId = "";
        let namedGroupId = "";
        const watch = engineWatch();

        async function expectNoSecretsLeaked(stage: string, { stateHasSecrets = true } = {}) {
            const sources = { "state export": await e.exportPlain(), "engine output": watch.output.join("\n"), "engine events": watch.events.join("\n") };
            expect(watch.events.length, "events received").toBeGreaterThan(0);
            expect(sources["state export"].includes("ciphertext"), `ciphertext in the state after ${stage}`).toBe(stateHasSecrets);
            const secrets: Record<string, string> = { "deployer's client secret": graph.deployer.secret };
            graph.issuedSecrets.forEach((s, i) => (secrets[`client secret ${i + 1} (from Graph)`] = s));
            expect(secretsIn(sources, secrets, [sb]), `after ${stage}`).toEqual([]);
        }

        /** The JIT stack: the user, the group by id and by name assigned, admin consent, JIT_EXTRAS; then `extra`. */
        const jitConfig = (extra: Record<string, unknown> = {}) =>
            managedConfig(sb, "jit", {
                assignedUsers: [userId],
                assignedGroups: [groupId],
                assignedGroupNames: [GROUP_NAME],
                adminConsent: true,
                ...JIT_EXTRAS,
                ...extra,
            });

        function expectOnlyKnownCalls() {
            expect(graph.unhandled, "requests the Graph stand-in has no handler for").toEqual([]);
            expect(graph.refusedConnects, "connections to hosts other than Entra ID and Graph").toEqual([]);
        }

        beforeAll(async () => {
            [sb, graph] = await Promise.all([startSandbox(), startFakeEntra()]);
            userId = graph.addUser("Ada Lovelace");
            groupId = graph.addGroup("Data Science");
            namedGroupId = graph.addGroup(GROUP_NAME);
            // JIT groups need Workbench 2025.09.0 (the stand-in reports the release written here).
            await sb.writeFile("/var/lib/standin/version", "2025.09.0+387.pro2 Workbench (Cucumberleaf Sunflower) for Ubuntu Jammy\n");
            before = await fingerprints(sb, MANAGED_FILES);
            e = await newStack(`managed${process.pid}`, undefined, { withProviders: true, env: graph.env() });
            await e.stack.setAllConfig(jitConfig());
        });
        afterAll(async () => {
            await Promise.all([sb?.stop(), graph?.stop()]);
        });

        it("previews a new stack without writing to Entra ID or the host", async () => {
            const connections = await sshConnections(sb);
            const preview = await e.stack.preview({ diff: true, ...watch.opts });
            expect(preview.changeSummary.create).toBeGreaterThan(0);
            for (const type of [
                "azuread:index/application:Application",
                "azuread:index/servicePrincipal:ServicePrincipal",
                "azuread:index/applicationPassword:ApplicationPassword",
                "azuread:index/appRoleAssignment:AppRoleAssignment",
                "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant",
                "time:index/rotating:Rotating",
            ]) {
                expect(preview.stdout).toContain(type);
            }
            expect(graph.writes()).toEqual([]);
            expect(await sshConnections(sb)).toBe(connections);
            expectOnlyKnownCalls();
            await expectNoSecretsLeaked("the first preview", { stateHasSecrets: false });
        });

        it("creates the app from the template, its secret reaches the host, the assignments carry the User role", async () => {
            const up = await e.stack.up(watch.opts);
            expect(up.summary.result).toBe("succeeded");
            expectOnlyKnownCalls();

            const apps = [...graph.applications.values()];
            expect(apps).toHaveLength(1);
            const app = apps[0];
            expect(app.applicationTemplateId).toBe(NON_GALLERY_TEMPLATE_ID);
            expect(app.displayName).toBe(`Posit Workbench (managed${process.pid})`);
            expect((app.web as { redirectUris: string[] }).redirectUris).toEqual([`https://${HOSTNAME}/openid/callback`]);
            expect(app.groupMembershipClaims).toBe("ApplicationGroup");
            expect((app.appRoles as { id: string; isEnabled: boolean }[]).map((r) => [r.id, r.isEnabled])).toEqual(TEMPLATE_APP_ROLES.map((r) => [r.id, true]));
            const sp = [...graph.servicePrincipals.values()].find((s) => s.appId === app.appId)!;
            expect(sp.appRoleAssignmentRequired).toBe(true);

            expect(up.outputs.clientId.value).toBe(app.appId);
            expect(up.outputs.tenantId.value).toBe(graph.tenantId);
            expect(up.outputs.issuer.value).toBe(`https://login.microsoftonline.com/${graph.tenantId}/v2.0`);
            expect(up.outputs.enterpriseAppObjectId.value).toBe(sp.id);

            // One client secret, its end date the stack's, and the host has exactly it.
            const creds = app.passwordCredentials as { endDateTime: string; displayName: string }[];
            expect(creds).toHaveLength(1);
            expect(creds[0].endDateTime).toBe(up.outputs.clientSecretEndDate.value);
            expect(graph.issuedSecrets).toHaveLength(1);
            expect(await decryptedSecretFile(sb)).toEqual({ clientId: app.appId, secret: graph.issuedSecrets[0] });
            expect(await sb.readFile("/etc/rstudio/rserver.conf")).toContain(`auth-openid-issuer=https://login.microsoftonline.com/${graph.tenantId}/v2.0`);
            expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(1);

            const assigned = [...graph.assignments.values()].map((a) => [a.principalId, a.appRoleId, a.resourceId]);
            expect(assigned.sort()).toEqual([userId, groupId, namedGroupId].map((p) => [p, USER_ROLE_ID, sp.id]).sort());
            const grants = [...graph.grants.values()];
            const storage = [...graph.servicePrincipals.values()].find((s) => s.appId === AZURE_STORAGE_APP_ID)!;
            const graphSp = [...graph.servicePrincipals.values()].find((s) => s.displayName === "Microsoft Graph")!;
            expect(grants.map((g) => [g.clientId, g.resourceId, g.consentType, (g.scope as string).split(" ").sort().join(" ")]).sort()).toEqual(
                [
                    [sp.id, graphSp.id, "AllPrincipals", "User.Read email offline_access openid profile"],
                    [sp.id, storage.id, "AllPrincipals", "user_impersonation"],
                ].sort(),
            );
            // Delegated Azure credentials: the API's permission by the id its service principal gives, and the scopes on the host.
            expect(app.requiredResourceAccess).toContainEqual({
                resourceAppId: AZURE_STORAGE_APP_ID,
                resourceAccess: [{ id: AZURE_STORAGE_SCOPES.user_impersonation, type: "Scope" }],
            });
            expect((await sb.readFile("/etc/rstudio/rserver.conf")).split("\n")).toContain("auth-openid-scopes=openid profile email offline_access");
            await expectNoSecretsLeaked("up");
        });

        it("writes nothing to Graph and runs nothing on the host on an up with nothing to change", async () => {
            const writes = graph.writes().length;
            const connections = await sshConnections(sb);
            const files = await fingerprints(sb, MANAGED_FILES);
            const up = await e.stack.up(watch.opts);
            expect(Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
            expect(graph.writes().slice(writes)).toEqual([]);
            expect(await sshConnections(sb)).toBe(connections);
            expect(await fingerprints(sb, MANAGED_FILES)).toEqual(files);
            expectOnlyKnownCalls();
            await expectNoSecretsLeaked("no-op up");
        });

        it("changes nothing on `pulumi up --refresh` before the secret's rotation is due", async () => {
            const writes = graph.writes().length;
            const connections = await sshConnections(sb);
            const up = await e.stack.up({ refresh: true, diff: true, ...watch.opts });
            expect(
                Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same"),
                up.stdout,
            ).toEqual([]);
            expect(graph.writes().slice(writes)).toEqual([]);
            expect(graph.issuedSecrets).toHaveLength(1);
            expect(await sshConnections(sb)).toBe(connections);
            expectOnlyKnownCalls();
            await expectNoSecretsLeaked("up --refresh");
        });

        it("replaces the client secret when its end date changes: the new one reaches the host before the old one goes", async () => {
            await sb.exec(": > /var/log/standin/systemctl.log");
            await e.stack.setAllConfig(jitConfig({ secretGraceDays: 20 }));
            const up = await e.stack.up(watch.opts);
            expect(up.summary.result).toBe("succeeded");
            expect(up.summary.resourceChanges?.replace).toBe(1);
            expect(graph.issuedSecrets).toHaveLength(2);
            const app = [...graph.applications.values()][0];
            expect((app.passwordCredentials as unknown[]).length).toBe(1);
            expect((app.passwordCredentials as { endDateTime: string }[])[0].endDateTime).toBe(up.outputs.clientSecretEndDate.value);
            expect(await decryptedSecretFile(sb)).toEqual({ clientId: app.appId, secret: graph.issuedSecrets[1] });
            expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(1);
            // Create before delete: the old secret is removed only once the host runs with the new one.
            const removed = graph.calls.filter((c) => c.path.endsWith("/removePassword"));
            expect(removed).toHaveLength(1);
            const written = Number((await sb.exec("stat -c %Y /etc/rstudio/openid-client-secret")).stdout.trim()) * 1000;
            expect(removed[0].at).toBeGreaterThanOrEqual(written);
            expectOnlyKnownCalls();
            await expectNoSecretsLeaked("a new client secret");
        });

        it("adds a user's assignment, and only that: one Graph write, nothing on the host", async () => {
            const second = graph.addUser("Grace Hopper");
            const writes = graph.writes().length;
            const connections = await sshConnections(sb);
            await e.stack.setAllConfig(jitConfig({ assignedUsers: [userId, second], secretGraceDays: 20 }));
            const up = await e.stack.up(watch.opts);
            expect(Object.fromEntries(Object.entries(up.summary.resourceChanges ?? {}).filter(([k]) => k !== "same"))).toEqual({ create: 1 });
            const added = graph.writes().slice(writes);
            expect(added.map((c) => `${c.method} ${c.path.replace(/[0-9a-f-]{36}/g, "<id>")}`)).toEqual(["POST /servicePrincipals/<id>/appRoleAssignedTo"]);
            expect([...graph.assignments.values()].filter((a) => a.principalId === second).map((a) => a.appRoleId)).toEqual([USER_ROLE_ID]);
            expect(await sshConnections(sb)).toBe(connections);
            expectOnlyKnownCalls();
        });

        it("deletes every Entra object and restores the host on destroy", async () => {
            const result = await e.stack.destroy(watch.opts);
            expect(result.summary.result).toBe("succeeded");
            expect([...graph.applications.values()]).toEqual([]);
            expect([...graph.servicePrincipals.values()].map((s) => s.displayName).sort()).toEqual([
                "Azure Storage",
                "Microsoft Graph",
                "posit-workbench-entra CI",
            ]);
            expect(graph.assignments.size).toBe(0);
            expect(graph.grants.size).toBe(0);
            expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
            expectOnlyKnownCalls();
            await expectNoSecretsLeaked("destroy", { stateHasSecrets: false });
        });
    });

    describe.skipIf(skip)("SCIM", () => {
        let sb: Sandbox;
        let graph: FakeEntra;
        let e: EngineStack;
        let before: Record<string, string>;
        const watch = engineWatch();
        const token = () =>
            graph.syncSecrets
                .values()
                .next()
                .value?.find((p) => p.key === "SecretToken")?.value ?? "";

        async function expectNoSecretsLeaked(stage: string, { stateHasSecrets = true } = {}) {
            const sources = { "state export": await e.exportPlain(), "engine output": watch.output.join("\n"), "engine events": watch.events.join("\n") };
            const secrets: Record<string, string> = { "deployer's client secret": graph.deployer.secret, ...(token() ? { "SCIM token": token() } : {}) };
            graph.issuedSecrets.forEach((s, i) => (secrets[`client secret ${i + 1} (from Graph)`] = s));
            expect(sources["state export"].includes("ciphertext"), `ciphertext in the state after ${stage}`).toBe(stateHasSecrets);
            expect(secretsIn(sources, secrets, [sb]), `after ${stage}`).toEqual([]);
        }

        beforeAll(async () => {
            [sb, graph] = await Promise.all([startSandbox(), startFakeEntra()]);
            before = await fingerprints(sb, MANAGED_FILES);
            e = await newStack(`managedscim${process.pid}`, undefined, { withProviders: true, env: graph.env() });
            await e.stack.setAllConfig(managedConfig(sb, "scim"));
        });
        afterAll(async () => {
            await Promise.all([sb?.stop(), graph?.stop()]);
        });

        it("hands the host's token and the tenant URL to Entra ID and starts the scim job", async () => {
            const up = await e.stack.up(watch.opts);
            expect(up.summary.result).toBe("succeeded");
            expect(graph.unhandled).toEqual([]);
            const sp = [...graph.servicePrincipals.values()].find((s) => s.applicationTemplateId === NON_GALLERY_TEMPLATE_ID)!;
            const pairs = graph.syncSecrets.get(sp.id as string)!;
            expect(pairs.map((p) => p.key)).toEqual(["BaseAddress", "SecretToken", "SyncAll"]);
            expect(pairs.find((p) => p.key === "BaseAddress")!.value).toBe(`https://${HOSTNAME}/scim/v2`);
            expect(pairs.find((p) => p.key === "SyncAll")!.value).toBe("false");
            // The token Entra ID got is the one the host made (the stand-in keeps its sha256).
            const hostTokens = JSON.parse(await sb.readFile("/var/lib/rstudio-server/standin-tokens.json")) as Record<string, { sha256: string }>;
            expect(Object.values(hostTokens).map((t) => t.sha256)).toEqual([createHash("sha256").update(token()).digest("hex")]);
            const jobs = [...graph.syncJobs.values()];
            expect(jobs.map((j) => [j.templateId, (j.schedule as { state: string }).state])).toEqual([["scim", "Active"]]);
            expect(up.outputs.scimStatus.value).toContain(jobs[0].id as string);
            expect(up.outputs.scimStatus.value).toMatch(new RegExp(`enabled, tenant URL https://${HOSTNAME.replace(/\./g, "\\.")}/scim/v2$`));
            await expectNoSecretsLeaked("up");
        });

        it("writes nothing to Graph on an up with nothing to change", async () => {
            const writes = graph.writes().length;
            const up = await e.stack.up(watch.opts);
            expect(Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
            expect(graph.writes().slice(writes)).toEqual([]);
            await expectNoSecretsLeaked("no-op up");
        });

        it("a new token (its lifetime changed) reaches Entra ID: the secret updated, the old token revoked, the same job", async () => {
            const old = token();
            const job = [...graph.syncJobs.values()][0].id;
            await sb.exec(": > /var/log/standin/systemctl.log");
            await e.stack.setAllConfig(managedConfig(sb, "scim", { scimTokenDays: 200 }));
            const up = await e.stack.up(watch.opts);
            expect(up.summary.result).toBe("succeeded");
            expect(token()).not.toBe(old);
            const hostTokens = JSON.parse(await sb.readFile("/var/lib/rstudio-server/standin-tokens.json")) as Record<string, { sha256: string }>;
            expect(Object.values(hostTokens).map((t) => t.sha256)).toEqual([createHash("sha256").update(token()).digest("hex")]);
            expect([...graph.syncJobs.values()].map((j) => j.id)).toEqual([job]);
            expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(0);
            expect(graph.unhandled).toEqual([]);
            expect(secretsIn({ "state export": await e.exportPlain(), "engine output": watch.output.join("\n") }, { "old SCIM token": old }, [sb])).toEqual([]);
            await expectNoSecretsLeaked("a new SCIM token");
        });

        it("sets the job's quarantine email (SyncNotificationSettings) in Entra ID: one secrets write, the same job, nothing on the host", async () => {
            const job = [...graph.syncJobs.values()][0].id;
            const writes = graph.writes().length;
            await sb.exec(": > /var/log/standin/systemctl.log");
            await e.stack.setAllConfig(managedConfig(sb, "scim", { scimTokenDays: 200, provisioningNotificationEmail: "workbench-admins@example.com" }));
            const up = await e.stack.up(watch.opts);
            expect(up.summary.result).toBe("succeeded");
            expect(graph.unhandled).toEqual([]);
            const sp = [...graph.servicePrincipals.values()].find((s) => s.applicationTemplateId === NON_GALLERY_TEMPLATE_ID)!;
            const pairs = graph.syncSecrets.get(sp.id as string)!;
            expect(pairs.map((p) => p.key)).toEqual(["BaseAddress", "SecretToken", "SyncAll", "SyncNotificationSettings"]);
            expect(JSON.parse(pairs.find((p) => p.key === "SyncNotificationSettings")!.value)).toEqual({
                Enabled: true,
                Recipients: "workbench-admins@example.com",
                DeleteThresholdEnabled: true,
                DeleteThresholdValue: 500,
            });
            expect(
                graph
                    .writes()
                    .slice(writes)
                    .map((w) => `${w.method} ${w.path.replace(/[0-9a-f-]{36}/g, "<id>")}`),
            ).toEqual(["PUT /servicePrincipals/<id>/synchronization/secrets"]);
            expect([...graph.syncJobs.values()].map((j) => j.id)).toEqual([job]);
            expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(0);
            // The up probed https://<hostname>/scim/v2 before the job (components/scimCertificateGate.ts): out of reach here, a warning.
            expect(watch.output.join("\n")).toContain(`SCIM endpoint: https://${HOSTNAME}/scim/v2 is not reachable from this machine`);
            await expectNoSecretsLeaked("the quarantine email");
        });

        it("stops provisioning, revokes the token and restores the host on destroy", async () => {
            const result = await e.stack.destroy(watch.opts);
            expect(result.summary.result).toBe("succeeded");
            expect(graph.syncJobs.size).toBe(0);
            expect([...graph.applications.values()]).toEqual([]);
            expect(JSON.parse(await sb.readFile("/var/lib/rstudio-server/standin-tokens.json"))).toEqual({});
            expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
            expect(graph.unhandled).toEqual([]);
            await expectNoSecretsLeaked("destroy", { stateHasSecrets: false });
        });
    });
});
