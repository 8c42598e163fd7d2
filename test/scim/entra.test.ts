/**
 * The check's read of Entra ID's synchronization job (check/entra.ts) against a local HTTPS Graph endpoint on
 * 127.0.0.1 serving Microsoft's documented responses (./graph-fixtures.ts), its base URL and token injected.
 */
import { createServer, Server } from "node:https";
import { AddressInfo, createServer as createTcpServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../config";
import { checkEntraJob, checkProvisioning, jobTarget, JobTarget } from "../../check/entra";
import { CheckReport, exitCode, renderText, summary } from "../../check/report";
import { baseConfig } from "../unit/program";
import { ACTIVE_JOB, EXAMPLE_JOB, FAILED_JOB, NOW, QUARANTINED_JOB, secretsWith, STALE_JOB } from "./graph-fixtures";
import { makeProbeCertificates, ProbeCertificates } from "./certs";

const SP = "/servicePrincipals/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
const TARGET: JobTarget = { jobPath: `${SP}/synchronization/jobs/${EXAMPLE_JOB.id}`, servicePrincipalPath: SP };
const TOKEN = "test-graph-token";
const EMAIL = "workbench-admins@example.com";
const NOTIFY = { Enabled: true, Recipients: EMAIL, DeleteThresholdEnabled: true, DeleteThresholdValue: 500 };

let certs: ProbeCertificates;
let server: Server;
let graphUrl: string;
let answers: Record<string, [number, unknown]> = {};
let delayMs = 0;
const calls: Array<{ method?: string; path?: string; authorization?: string }> = [];

beforeAll(async () => {
    certs = makeProbeCertificates("workbench.example.com");
    server = createServer({ key: certs.loopback.key, cert: certs.loopback.cert }, (req, res) => {
        calls.push({ method: req.method, path: req.url, authorization: req.headers.authorization });
        const [status, body] = answers[`${req.method} ${req.url}`] ?? [
            501,
            { error: { code: "NotImplemented", message: `no fixture for ${req.method} ${req.url}` } },
        ];
        setTimeout(() => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)), delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    graphUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
    server.close();
    certs.cleanup();
});
afterEach(() => {
    answers = {};
    delayMs = 0;
    calls.length = 0;
});

const serve = (job: unknown, secrets: unknown = secretsWith(NOTIFY), jobStatus = 200) => {
    answers[`GET /v1.0${TARGET.jobPath}`] = [jobStatus, job];
    answers[`GET /v1.0${SP}/synchronization/secrets`] = [200, secrets];
};
const options = () => ({ graphUrl, token: async () => TOKEN, extraCa: [certs.ca], now: NOW });

describe("the Entra section of npm run check", () => {
    it("reads an active job with its last runs and the quarantine email, with the identity's token", async () => {
        serve(ACTIVE_JOB);
        const section = await checkEntraJob(TARGET, EMAIL, options());
        expect(section).toEqual({
            name: "entra",
            status: "ok",
            lines: [
                `job ${EXAMPLE_JOB.id} (scim): Active, schedule Active`,
                "last run: Succeeded 2026-12-07T05:30:00Z (imported 12, exported 3, escrowed 0)",
                "last successful run: 2026-12-07T05:30:00Z",
                `quarantine email to ${EMAIL}`,
            ],
        });
        expect(calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual([`GET /v1.0${TARGET.jobPath}`, `GET /v1.0${SP}/synchronization/secrets`].sort());
        expect(calls.every((c) => c.authorization === `Bearer ${TOKEN}`)).toBe(true);
    });

    it("reports a quarantined job as a problem: the reason, since when, the error, and what happens after four weeks", async () => {
        serve(QUARANTINED_JOB);
        const section = await checkEntraJob(TARGET, EMAIL, options());
        expect(section.status).toBe("problem");
        expect(section.lines).toContain(
            "problem: in quarantine (EncounteredQuarantineException) since 2026-12-05T04:00:00Z, 3 time(s) in this series: SystemForCrossDomainIdentityManagementServiceIncompatible: An HTTP/404 Not Found error occurred while reaching https://workbench.example.com/scim/v2/Users.; next attempt 2026-12-07T16:00:00Z. Microsoft: a job in quarantine for more than four weeks is disabled",
        );
        expect(section.lines).toContain(
            "warning: no successful run in the last 24 h (last 2026-12-04T06:00:00Z): users who left may still be provisioned in Workbench",
        );
    });

    it("reports a job whose last run failed as a problem, with the run's error", async () => {
        serve(FAILED_JOB);
        const section = await checkEntraJob(TARGET, EMAIL, options());
        expect(section.status).toBe("problem");
        expect(section.lines).toContain(
            "problem: the last run failed (2 failure(s) in a row): The SCIM endpoint answered 401 Unauthorized: check the secret token.",
        );
        expect(section.lines.some((l) => l.startsWith("warning: no successful run"))).toBe(false);
    });

    it("warns when no run succeeded in 24 hours", async () => {
        serve(STALE_JOB);
        const section = await checkEntraJob(TARGET, EMAIL, options());
        expect(section.status).toBe("warning");
        expect(section.lines).toContain(
            "warning: no successful run in the last 24 h (last 2026-12-06T00:00:00Z): users who left may still be provisioned in Workbench",
        );
        expect(section.lines).toContain("warning: the last run had errors on some entries (escrowed 2): see the provisioning logs");
    });

    it("reads Microsoft's own response example (paused, its quarantine with empty dates) as a problem", async () => {
        serve(EXAMPLE_JOB);
        const section = await checkEntraJob(TARGET, EMAIL, options());
        expect(section.status).toBe("problem");
        expect(section.lines).toContain(
            "problem: in quarantine, 2 time(s) in this series: SalesforceInvalidCredentials: Your Salesforce.com credentials are invalid.  Please obtain a current Salesforce.com administrative user name, password and security token, and enter those in the screen for configuring user provisioning. Microsoft: a job in quarantine for more than four weeks is disabled",
        );
        expect(section.lines.some((l) => l.startsWith("problem: paused"))).toBe(true);
        expect(section.lines).toContain("last run: none");
    });

    it("drift-checks the quarantine email: changed in Entra ID is a problem, never set is a warning", async () => {
        serve(ACTIVE_JOB, secretsWith({ ...NOTIFY, Recipients: "someone-else@example.com" }));
        const changed = await checkEntraJob(TARGET, EMAIL, options());
        expect(changed.status).toBe("problem");
        expect(changed.lines.at(-1)).toBe(
            `problem: quarantine email is sent to someone-else@example.com in Entra ID, the stack says ${EMAIL} (changed outside the stack): pulumi up --refresh sets it again`,
        );
        serve(ACTIVE_JOB, secretsWith({ ...NOTIFY, Enabled: false }));
        expect((await checkEntraJob(TARGET, EMAIL, options())).lines.at(-1)).toContain("quarantine email is off in Entra ID");
        serve(ACTIVE_JOB, secretsWith());
        const unset = await checkEntraJob(TARGET, undefined, options());
        expect(unset.status).toBe("warning");
        expect(unset.lines.at(-1)).toBe("warning: no quarantine email: nobody is told when the job goes into quarantine (set provisioningNotificationEmail)");
    });

    it("without an Azure identity says so in one line and reads nothing", async () => {
        const section = await checkEntraJob(TARGET, EMAIL, {
            ...options(),
            token: async () => Promise.reject(new Error("DefaultAzureCredential failed to retrieve a token.\n  EnvironmentCredential is unavailable.")),
        });
        expect(section).toEqual({
            name: "entra",
            status: "warning",
            lines: [
                "no Azure identity: DefaultAzureCredential failed to retrieve a token. (az login, or the deploying identity's environment; the host checks ran without it)",
            ],
        });
        expect(calls).toEqual([]);
    });

    it("with @azure/identity's default chain and no identity configured, says so in one line", async () => {
        const saved = { ...process.env };
        for (const key of Object.keys(process.env))
            if (key.startsWith("AZURE_") || key.startsWith("IDENTITY_") || key.startsWith("MSI_")) delete process.env[key];
        process.env.PATH = "/nonexistent"; // no az, azd or pwsh to ask
        try {
            const { token: _, ...rest } = options();
            const section = await checkEntraJob(TARGET, EMAIL, rest);
            expect(section.status).toBe("warning");
            expect(section.lines).toHaveLength(1);
            expect(section.lines[0]).toMatch(/^no Azure identity: \S/);
            expect(calls).toEqual([]);
        } finally {
            process.env = saved;
        }
    }, 60_000);

    it("a job gone from Entra ID is a problem; a refused read is a warning naming the permission", async () => {
        serve({ error: { code: "Request_ResourceNotFound", message: "Resource does not exist." } }, secretsWith(NOTIFY), 404);
        const gone = await checkEntraJob(TARGET, EMAIL, options());
        expect(gone.status).toBe("problem");
        expect(gone.lines[0]).toContain("is not in Entra ID (HTTP 404 Request_ResourceNotFound: Resource does not exist.)");
        serve({ error: { code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation." } }, secretsWith(NOTIFY), 403);
        const refused = await checkEntraJob(TARGET, EMAIL, options());
        expect(refused.status).toBe("warning");
        expect(refused.lines[0]).toContain(
            "HTTP 403 Authorization_RequestDenied: Insufficient privileges to complete the operation. (reading the job needs Synchronization.Read.All",
        );
    });

    it("finds the job in the stack's state, whichever id form the provider wrote", () => {
        const type = "azuread:index/synchronizationJob:SynchronizationJob";
        expect(jobTarget([{ type, id: `${TARGET.jobPath}` }])).toEqual(TARGET);
        expect(jobTarget([{ type, id: `6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b/job/${EXAMPLE_JOB.id}` }])).toEqual(TARGET);
        expect(jobTarget([{ type: "azuread:index/servicePrincipal:ServicePrincipal", id: SP }])).toBeUndefined();
    });
});

describe("the provisioning sections beside the nodes", () => {
    const config = (extra: Record<string, unknown>) =>
        parseConfig({ ...baseConfig(), sshPrivateKey: undefined, ...extra }, "prod", { sshPrivateKey: true, clientSecret: false });
    const resources = [{ type: "azuread:index/synchronizationJob:SynchronizationJob", id: TARGET.jobPath }];

    it("none with JIT", async () => {
        expect(await checkProvisioning(config({}), resources)).toEqual([]);
    });

    it("reads Graph and probes the endpoint at once, and a problem in either makes the exit code 2 with the nodes in sync", async () => {
        serve(QUARANTINED_JOB);
        // Graph answers after 400 ms; the endpoint never finishes its handshake, and the probe gives up after 400 ms.
        delayMs = 400;
        const silent = createTcpServer(() => {});
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const started = Date.now();
        const sections = await checkProvisioning(config({ provisioning: "scim", provisioningNotificationEmail: EMAIL }), resources, {
            entra: options(),
            probe: { connectTo: { host: "127.0.0.1", port: (silent.address() as AddressInfo).port }, timeoutMs: 400 },
        });
        silent.close();
        expect(Date.now() - started).toBeGreaterThanOrEqual(400);
        expect(Date.now() - started).toBeLessThan(750);
        expect(sections.map((s) => [s.name, s.status])).toEqual([
            ["entra", "problem"],
            ["scim-endpoint", "warning"],
        ]);
        const report: CheckReport = { stack: "prod", nodes: [{ name: "node1 (10.0.0.5:22)", steps: [], seconds: 1 }], sections };
        expect(exitCode(report)).toBe(2);
        expect(summary(report)).toBe("prod: 1 node, 0 steps: 0 in sync, 0 would change, 0 drifted, 0 problems, 0 warnings");
        const text = renderText(report);
        expect(text).toContain("node1 (10.0.0.5:22) (1.0 s)\nentra (problem)\n  job ");
        expect(text).toContain(
            "scim-endpoint (warning)\n  https://workbench.example.com/scim/v2 is not reachable from this machine (no TLS handshake within 0.4 s); Entra ID connects from the internet on port 443, so check from there too\n\nprod: 1 node",
        );
        // Warnings alone (no identity, an endpoint out of reach) change nothing: the host checks decide.
        expect(exitCode({ ...report, sections: sections.map((s) => ({ ...s, status: "warning" as const })) })).toBe(0);
    });

    it("with an external app reads no job (its owners run it) but still probes the endpoint", async () => {
        const sections = await checkProvisioning(
            parseConfig(
                {
                    ...baseConfig(),
                    sshPrivateKey: undefined,
                    assignedUsers: [],
                    assignedGroups: [],
                    entraMode: "external",
                    tenantId: "11111111-2222-3333-4444-555555555555",
                    clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                    provisioning: "scim",
                },
                "prod",
                { sshPrivateKey: true, clientSecret: true },
            ),
            resources,
            { entra: options(), probe: { connectTo: { host: "127.0.0.1", port: 1 }, timeoutMs: 400 } },
        );
        expect(sections[0]).toEqual({ name: "entra", status: "ok", lines: ["entraMode external: the app's owners run its provisioning job (not read)"] });
        expect(sections[1].name).toBe("scim-endpoint");
        expect(calls).toEqual([]);
    });
});
