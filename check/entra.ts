/**
 * Provisioning health from both ends, for `npm run check` with SCIM: Entra ID's synchronization job read
 * through Microsoft Graph with the identity the stack deploys with, and the SCIM endpoint's certificate
 * (./endpoint.ts). Each is one section of the report beside the nodes, `ok`, `warning` or `problem`.
 *
 * Graph pages (Microsoft Graph v1.0 reference):
 * - "Get synchronizationJob" (https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-get):
 *   GET /servicePrincipals/{id}/synchronization/jobs/{jobId}; least privileged permission
 *   Synchronization.Read.All (delegated), Application.ReadWrite.OwnedBy (application; Synchronization.Read.All
 *   is the read-only one, listed as higher privileged).
 * - "synchronizationStatus resource type" (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationstatus):
 *   code NotConfigured | NotRun | Active | Paused | Quarantine, lastExecution, lastSuccessfulExecution, quarantine.
 * - "synchronizationQuarantine resource type" (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationquarantine):
 *   currentBegan, nextAttempt, reason, seriesBegan, seriesCount, error.
 * - "synchronizationTaskExecution resource type" (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationtaskexecution):
 *   state Succeeded | Failed | EntryLevelErrors, timeBegan, timeEnded, countExported, countEscrowed, error.
 * - The job's secrets, for the quarantine email: GET /servicePrincipals/{id}/synchronization/secrets, from
 *   Microsoft's "How to programmatically configure cloud sync using MS Graph API"
 *   (https://learn.microsoft.com/en-us/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph), which
 *   documents `SyncNotificationSettings` as a JSON string {"Enabled":true,"Recipients":"<email>",...}. The
 *   permission this read needs is not on a reference page (UNCONFIRMED); a refusal is a warning.
 */
import { request } from "node:https";
import { rootCertificates } from "node:tls";
import type { WorkbenchConfig } from "../config";
import { EndpointProbe, probeScimEndpoint, ProbeOptions, ProbeStatus } from "./endpoint";

export const GRAPH_URL = "https://graph.microsoft.com";
export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** One section of the report beside the nodes. */
export interface CheckSection {
    name: "entra" | "scim-endpoint";
    status: ProbeStatus;
    lines: string[];
}

/** Where the stack's job is: from the state's azuread SynchronizationJob (its id is the Graph path). */
export interface JobTarget {
    /** `/servicePrincipals/<id>/synchronization/jobs/<jobId>`. */
    jobPath: string;
    /** `/servicePrincipals/<id>`. */
    servicePrincipalPath: string;
}

export interface EntraOptions {
    /** Graph's base URL (tests: a local HTTPS server). */
    graphUrl?: string;
    /** A bearer token for Graph; by default from @azure/identity's DefaultAzureCredential (loaded only then). */
    token?: () => Promise<string>;
    /** Certificate authorities trusted beside the default ones (tests). */
    extraCa?: string[];
    now?: Date;
    timeoutMs?: number;
}

type Json = Record<string, any>;

/** The job resource in `pulumi stack export` resources, as a Graph path. */
export function jobTarget(resources: Array<{ type: string; id?: string; outputs?: Record<string, unknown> }>): JobTarget | undefined {
    const job = resources.find((r) => r.type === "azuread:index/synchronizationJob:SynchronizationJob");
    if (!job?.id) return undefined;
    const path = /^(\/servicePrincipals\/[^/]+)\/synchronization\/jobs\/([^/]+)$/.exec(job.id);
    if (path) return { jobPath: path[0], servicePrincipalPath: path[1] };
    // The provider's older "<spId>/job/<jobId>" form.
    const old = /^([^/]+)\/job\/([^/]+)$/.exec(job.id);
    return old ? { jobPath: `/servicePrincipals/${old[1]}/synchronization/jobs/${old[2]}`, servicePrincipalPath: `/servicePrincipals/${old[1]}` } : undefined;
}

/** DefaultAzureCredential's token for Graph: az login locally, workload identity or a client secret in CI. */
async function defaultToken(): Promise<string> {
    // Loaded here, not at the top: the check starts without it, and only SCIM stacks need it.
    const { DefaultAzureCredential } = await import("@azure/identity");
    const token = await new DefaultAzureCredential().getToken(GRAPH_SCOPE);
    if (!token?.token) throw new Error("the credential chain returned no token");
    return token.token;
}

class GraphError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

function graphGet(url: string, token: string, options: EntraOptions): Promise<Json> {
    return new Promise((resolve, reject) => {
        const req = request(
            url,
            {
                method: "GET",
                headers: { authorization: `Bearer ${token}`, accept: "application/json" },
                ca: options.extraCa?.length ? [...rootCertificates, ...options.extraCa] : undefined,
                timeout: options.timeoutMs ?? 10000,
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => (body += chunk));
                res.on("end", () => {
                    let json: Json = {};
                    try {
                        json = body ? JSON.parse(body) : {};
                    } catch {
                        // a body that is not JSON: its status says enough
                    }
                    if (res.statusCode === 200) resolve(json);
                    // Graph's errors: {"error": {"code", "message"}} ("Microsoft Graph error responses and resource types").
                    else
                        reject(
                            new GraphError(
                                res.statusCode ?? 0,
                                `HTTP ${res.statusCode}${json.error?.code ? ` ${json.error.code}` : ""}${json.error?.message ? `: ${json.error.message}` : ""}`,
                            ),
                        );
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer within ${(options.timeoutMs ?? 10000) / 1000} s`)));
        req.on("error", reject);
        req.end();
    });
}

const when = (iso: unknown) => (typeof iso === "string" && iso && !iso.startsWith("0001-") ? iso.replace(/\.\d+Z$/, "Z") : undefined);
const ageHours = (iso: string, now: Date) => (now.getTime() - Date.parse(iso)) / 3_600_000;

function execution(e: Json | null | undefined): string {
    if (!e) return "none";
    const counts = ["countImported", "countExported", "countEscrowed"]
        .filter((k) => typeof e[k] === "number")
        .map((k) => `${k.slice(5).toLowerCase()} ${e[k]}`);
    return `${e.state ?? "?"} ${when(e.timeEnded) ?? when(e.timeBegan) ?? ""}${counts.length ? ` (${counts.join(", ")})` : ""}${e.error?.message ? `: ${e.error.code ? `${e.error.code}: ` : ""}${e.error.message}` : ""}`.trim();
}

/** The status of a synchronizationJob as Graph returns it: status and lines, pure (tested directly). */
export function judgeJob(job: Json, now: Date): { status: ProbeStatus; lines: string[] } {
    const status: Json = job.status ?? {};
    const problems: string[] = [];
    const warnings: string[] = [];
    const lines = [`job ${job.id} (${job.templateId}): ${status.code ?? "no status"}, schedule ${job.schedule?.state ?? "?"}`];
    const q: Json | null = status.quarantine ?? null;
    if (status.code === "Quarantine" || (q && (q.reason || q.error))) {
        const since = when(q?.seriesBegan) ?? when(q?.currentBegan);
        problems.push(
            `in quarantine${q?.reason ? ` (${q.reason})` : ""}${since ? ` since ${since}` : ""}${q?.seriesCount ? `, ${q.seriesCount} time(s) in this series` : ""}${q?.error?.message ? `: ${q.error.code ? `${q.error.code}: ` : ""}${q.error.message}` : ""}` +
                `${when(q?.nextAttempt) ? `; next attempt ${when(q?.nextAttempt)}` : ""}. Microsoft: a job in quarantine for more than four weeks is disabled`,
        );
    }
    if (status.code === "Paused")
        problems.push("paused: nothing is provisioned or deprovisioned; the stack enables it (pulumi up --refresh), or start it in the Entra admin center");
    if (status.code === "NotConfigured") problems.push("not configured: Entra ID has no admin credentials for it");
    const last: Json | null = status.lastExecution ?? null;
    lines.push(`last run: ${execution(last)}`);
    if (last?.state === "Failed")
        problems.push(
            `the last run failed${status.countSuccessiveCompleteFailures ? ` (${status.countSuccessiveCompleteFailures} failure(s) in a row)` : ""}: ${last.error?.message ?? "no error given"}`,
        );
    else if (last?.state === "EntryLevelErrors")
        warnings.push(`the last run had errors on some entries (escrowed ${last.countEscrowed ?? "?"}): see the provisioning logs`);
    const success = when(status.lastSuccessfulExecution?.timeEnded) ?? when(status.lastSuccessfulExecution?.timeBegan);
    lines.push(`last successful run: ${success ?? "none"}`);
    if (!success || ageHours(success, now) > 24)
        warnings.push(`no successful run in the last 24 h${success ? ` (last ${success})` : ""}: users who left may still be provisioned in Workbench`);
    return {
        status: problems.length ? "problem" : warnings.length ? "warning" : "ok",
        lines: [...lines, ...problems.map((p) => `problem: ${p}`), ...warnings.map((w) => `warning: ${w}`)],
    };
}

/** The quarantine email in the job's secrets against the configured one (drift of provisioningNotificationEmail). */
export function judgeNotification(secrets: Json, expected: string | undefined): { status: ProbeStatus; line: string } {
    const pair = (Array.isArray(secrets.value) ? secrets.value : []).find((p: Json) => p.key === "SyncNotificationSettings");
    let settings: Json = {};
    try {
        settings = pair?.value ? JSON.parse(pair.value) : {};
    } catch {
        // not JSON: treated as not set
    }
    const actual = settings.Enabled === true && typeof settings.Recipients === "string" ? settings.Recipients : undefined;
    if (expected && actual?.toLowerCase() !== expected.toLowerCase()) {
        return {
            status: "problem",
            line: `problem: quarantine email is ${actual ? `sent to ${actual}` : "off"} in Entra ID, the stack says ${expected} (changed outside the stack): pulumi up --refresh sets it again`,
        };
    }
    if (!actual)
        return {
            status: "warning",
            line: "warning: no quarantine email: nobody is told when the job goes into quarantine (set provisioningNotificationEmail)",
        };
    return { status: "ok", line: `quarantine email to ${actual}` };
}

const worst = (a: ProbeStatus, b: ProbeStatus): ProbeStatus =>
    a === "problem" || b === "problem" ? "problem" : a === "warning" || b === "warning" ? "warning" : "ok";

/** The Entra section: the job's state and its notification setting. Never throws. */
export async function checkEntraJob(target: JobTarget, expectedEmail: string | undefined, options: EntraOptions = {}): Promise<CheckSection> {
    let token: string;
    try {
        token = await (options.token ?? defaultToken)();
    } catch (error) {
        const first = String((error as Error).message ?? error).split("\n")[0];
        return {
            name: "entra",
            status: "warning",
            lines: [`no Azure identity: ${first} (az login, or the deploying identity's environment; the host checks ran without it)`],
        };
    }
    const base = `${(options.graphUrl ?? GRAPH_URL).replace(/\/$/, "")}/v1.0`;
    const [job, secrets] = await Promise.allSettled([
        graphGet(`${base}${target.jobPath}`, token, options),
        graphGet(`${base}${target.servicePrincipalPath}/synchronization/secrets`, token, options),
    ]);
    if (job.status === "rejected") {
        const e = job.reason as GraphError;
        if (e.status === 404)
            return {
                name: "entra",
                status: "problem",
                lines: [
                    `the stack's synchronization job ${target.jobPath} is not in Entra ID (${e.message}): deleted outside the stack? pulumi up --refresh creates it again`,
                ],
            };
        const hint =
            e.status === 401 || e.status === 403
                ? " (reading the job needs Synchronization.Read.All, or Application.ReadWrite.OwnedBy as the app's owner)"
                : "";
        return { name: "entra", status: "warning", lines: [`could not read the job ${target.jobPath}: ${e.message}${hint}`] };
    }
    const verdict = judgeJob(job.value, options.now ?? new Date());
    let status = verdict.status;
    const lines = [...verdict.lines];
    if (secrets.status === "fulfilled") {
        const n = judgeNotification(secrets.value, expectedEmail);
        status = worst(status, n.status);
        lines.push(n.line);
    } else {
        status = worst(status, "warning");
        lines.push(`warning: could not read the job's secrets for the quarantine email: ${(secrets.reason as Error).message}`);
    }
    return { name: "entra", status, lines };
}

export interface ProvisioningOptions {
    entra?: EntraOptions;
    probe?: ProbeOptions;
}

/**
 * The sections for a stack: none with JIT; the endpoint's certificate with SCIM, and the job's state when the
 * stack manages the app and its state has a job. The Graph read and the probe run at once.
 */
export async function checkProvisioning(
    config: WorkbenchConfig,
    resources: Array<{ type: string; id?: string; outputs?: Record<string, unknown> }>,
    options: ProvisioningOptions = {},
): Promise<CheckSection[]> {
    if (config.provisioning !== "scim") return [];
    const target = config.entraMode === "managed" ? jobTarget(resources) : undefined;
    const entra: Promise<CheckSection> = target
        ? checkEntraJob(target, config.provisioningNotificationEmail, options.entra)
        : Promise.resolve({
              name: "entra",
              status: "ok",
              lines: [
                  config.entraMode === "external"
                      ? "entraMode external: the app's owners run its provisioning job (not read)"
                      : "no synchronization job in the stack's state yet (pulumi up creates it)",
              ],
          });
    const endpoint = probeScimEndpoint(config.scimBaseAddress, options.probe).then((p: EndpointProbe): CheckSection => ({
        name: "scim-endpoint",
        status: p.status,
        lines: p.lines,
    }));
    return Promise.all([entra, endpoint]);
}

/**
 * Test-only injection from the environment, for the whole CLI against local servers (docs/check.md):
 * WORKBENCH_CHECK_GRAPH_URL (Graph's base URL), WORKBENCH_CHECK_GRAPH_TOKEN (a bearer token instead of the
 * credential chain), WORKBENCH_CHECK_SCIM_CONNECT_TO (host:port to open instead of <hostname>:443).
 * Extra trusted CAs come the ordinary way, NODE_EXTRA_CA_CERTS.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv): ProvisioningOptions {
    const token = env.WORKBENCH_CHECK_GRAPH_TOKEN;
    const connect = /^(.+):(\d+)$/.exec(env.WORKBENCH_CHECK_SCIM_CONNECT_TO ?? "");
    return {
        entra: { graphUrl: env.WORKBENCH_CHECK_GRAPH_URL || undefined, token: token ? async () => token : undefined },
        probe: { connectTo: connect ? { host: connect[1], port: Number(connect[2]) } : undefined },
    };
}
