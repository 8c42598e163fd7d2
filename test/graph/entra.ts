/**
 * A stand-in for Microsoft Entra ID and Microsoft Graph that the real azuread provider
 * (pulumi-resource-azuread 6.9.1, built from ../shared/vendor) talks to, on loopback only.
 *
 * How the provider reaches it: an HTTP proxy on 127.0.0.1 (HTTPS_PROXY) that accepts CONNECT only to
 * login.microsoftonline.com:443 and graph.microsoft.com:443 and tunnels them to an HTTPS server on
 * 127.0.0.1 whose certificate (for both names) is signed by a throwaway CA given in SSL_CERT_FILE. Every
 * HTTP client of the provider uses Go's http.ProxyFromEnvironment (../shared/vendor/README.md); Go never
 * proxies 127.x, so the engine's SSH connections to the sandboxes are untouched. The provider is
 * configured as in production (client id, secret, tenant: ARM_CLIENT_ID, ARM_CLIENT_SECRET,
 * ARM_TENANT_ID) with no test-only provider setting. A CONNECT to any other host is refused and recorded.
 *
 * Behaviour follows Microsoft's Graph reference pages, cited (title + URL) beside each handler. Where a
 * page is silent, the behaviour is marked ASSUMED with where it comes from. Every request is recorded
 * (`calls`); one the stand-in does not know is answered 501 and recorded in `unhandled`, so a test fails
 * on it rather than on a guess.
 *
 * General conventions, from "Microsoft Graph error responses and resource types"
 * (https://learn.microsoft.com/en-us/graph/errors): errors are an HTTP status with a JSON body
 * `{"error": {"code", "message", "innerError"}}`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { AddressInfo, connect, Socket } from "node:net";
import { rmSync } from "node:fs";
import { makeCertificates } from "./certs";

export const LOGIN_HOST = "login.microsoftonline.com";
export const GRAPH_HOST = "graph.microsoft.com";
export const NON_GALLERY_TEMPLATE_ID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
export const MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
/**
 * Azure Storage, an API of the kind Posit's "Delegated Azure Credentials" page grants delegated permissions on.
 * ASSUMED: its delegated permission's id (the program reads ids from the service principal, never assumes them).
 */
export const AZURE_STORAGE_APP_ID = "e406a681-f3d4-42a8-90b6-c2b029497af1";
export const AZURE_STORAGE_SCOPES = { user_impersonation: "03e0da56-190b-40ad-a80c-ea378c433f7f" };

/**
 * The app roles a service principal of the non-gallery template carries, both with an empty value
 * (../shared/reference/facts.md section 1). ASSUMED: the instantiated application object carries the
 * same roles (the service principal's roles are the application's; terraform-provider-azuread's own
 * template acceptance test declares the template's role on the application to match what Graph returns).
 */
export const TEMPLATE_APP_ROLES = [
    {
        allowedMemberTypes: ["User"],
        description: "User",
        displayName: "User",
        id: "18d14569-c3bd-439b-9a66-3a2aee01d14f",
        isEnabled: true,
        origin: "Application",
        value: null,
    },
    {
        allowedMemberTypes: ["User"],
        description: "msiam_access",
        displayName: "msiam_access",
        id: "b9632174-c057-4f7e-951b-be3adc52bfe6",
        isEnabled: true,
        origin: "Application",
        value: null,
    },
];

/** An API's delegated permissions (its service principal's oauth2PermissionScopes), each described by its name. */
const delegatedScopes = (scopes: Record<string, string>) =>
    Object.entries(scopes).map(([value, id]) => ({
        id,
        value,
        type: "User",
        isEnabled: true,
        adminConsentDisplayName: value,
        adminConsentDescription: value,
        userConsentDisplayName: value,
        userConsentDescription: value,
    }));

/** Microsoft Graph's delegated scopes the program asks for (facts.md section 1). */
const GRAPH_SCOPES: Record<string, string> = {
    openid: "37f7f235-527c-4136-accd-4a02d197296e",
    profile: "14dad69e-099b-42c9-810b-d002981feec1",
    email: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
};

type Json = Record<string, unknown>;

export interface GraphCall {
    method: string;
    host: string;
    /** Path without the API version, e.g. "/applications/<id>/addPassword". */
    path: string;
    version: string;
    query: string;
    status: number;
    /** When the answer was sent (ms since the epoch). */
    at: number;
}

export interface FakeEntraOptions {
    /** Synchronization templates the service principals list (UNCONFIRMED for 8adf8e6e apps; facts.md section 1). */
    syncTemplates?: string[];
}

class GraphError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

const notFound = (what: string) =>
    new GraphError(404, "Request_ResourceNotFound", `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`);
const badRequest = (message: string, code = "Request_BadRequest") => new GraphError(400, code, message);
const b64url = (o: unknown) => Buffer.from(typeof o === "string" ? o : JSON.stringify(o)).toString("base64url");
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";
const randomChars = (n: number, alphabet = SECRET_CHARS) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
const clone = <T>(o: T): T => structuredClone(o);

export class FakeEntra {
    readonly tenantId = randomUUID();
    /** The deploying identity (an app registration with a client secret), as CI signs in. */
    readonly deployer = { clientId: randomUUID(), objectId: randomUUID(), secret: `${randomChars(3, "abcdefghijklmnopqrstuvwxyz")}8Q~${randomChars(34)}` };

    readonly users = new Map<string, Json>();
    readonly groups = new Map<string, Json>();
    readonly applications = new Map<string, Json>();
    readonly servicePrincipals = new Map<string, Json>();
    readonly assignments = new Map<string, Json>();
    readonly grants = new Map<string, Json>();
    readonly syncSecrets = new Map<string, { key: string; value: string }[]>();
    readonly syncJobs = new Map<string, Json>();
    /** Every client secret addPassword handed out (its secretText), to scan outputs for. */
    readonly issuedSecrets: string[] = [];
    readonly calls: GraphCall[] = [];
    readonly unhandled: string[] = [];
    readonly refusedConnects: string[] = [];
    private readonly tokens = new Set<string>();
    private readonly sockets = new Set<Socket>();
    private servers: Server[] = [];
    private proxyPort = 0;
    private caDir = "";
    caFile = "";

    constructor(private readonly options: FakeEntraOptions = {}) {
        // The deployer's own service principal, Microsoft Graph's and Azure Storage's, as tenants have them.
        this.servicePrincipals.set(
            this.deployer.objectId,
            this.newServicePrincipal({ id: this.deployer.objectId, appId: this.deployer.clientId, displayName: "posit-workbench-entra CI" }),
        );
        const graphSp = this.newServicePrincipal({
            appId: MICROSOFT_GRAPH_APP_ID,
            displayName: "Microsoft Graph",
            appOwnerOrganizationId: "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        });
        graphSp.oauth2PermissionScopes = delegatedScopes(GRAPH_SCOPES);
        this.servicePrincipals.set(graphSp.id as string, graphSp);
        const storageSp = this.newServicePrincipal({
            appId: AZURE_STORAGE_APP_ID,
            displayName: "Azure Storage",
            appOwnerOrganizationId: "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        });
        storageSp.oauth2PermissionScopes = delegatedScopes(AZURE_STORAGE_SCOPES);
        this.servicePrincipals.set(storageSp.id as string, storageSp);
    }

    /** A user in the directory; returns its object id. */
    addUser(displayName: string): string {
        const id = randomUUID();
        this.users.set(id, { id, displayName, userPrincipalName: `${displayName.toLowerCase().replace(/\W+/g, ".")}@e2e.onmicrosoft.com` });
        return id;
    }

    /** A security group in the directory; returns its object id. */
    addGroup(displayName: string): string {
        const id = randomUUID();
        this.groups.set(id, {
            id,
            displayName,
            securityEnabled: true,
            mailEnabled: false,
            mailNickname: displayName.replace(/\W+/g, ""),
            groupTypes: [],
            description: null,
            visibility: null,
        });
        return id;
    }

    /** Environment for the engine: the proxy, the CA, and the deployer's credentials (ARM_* as the azuread provider reads them). */
    env(): Record<string, string> {
        return {
            // Upper case only: Node's gRPC client (the language host's link to the engine) follows the
            // lower-case https_proxy. Loopback is excluded anyway (Go never proxies it; gRPC reads no_proxy).
            HTTPS_PROXY: `http://127.0.0.1:${this.proxyPort}`,
            NO_PROXY: "127.0.0.1,localhost",
            no_proxy: "127.0.0.1,localhost",
            SSL_CERT_FILE: this.caFile,
            ARM_TENANT_ID: this.tenantId,
            ARM_CLIENT_ID: this.deployer.clientId,
            ARM_CLIENT_SECRET: this.deployer.secret,
        };
    }

    /** Calls that change something (anything but GET), e.g. to show a no-op up wrote nothing. */
    writes(): GraphCall[] {
        return this.calls.filter((c) => c.method !== "GET" && c.host === GRAPH_HOST);
    }

    async start(): Promise<this> {
        const certs = makeCertificates([LOGIN_HOST, GRAPH_HOST]);
        this.caDir = certs.dir;
        this.caFile = certs.caFile;
        const https = createHttpsServer({ key: certs.key, cert: certs.cert }, (req, res) => void this.serve(req, res));
        const proxy = createHttpServer((_req, res) => {
            res.writeHead(405).end("CONNECT only\n");
        });
        proxy.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
            this.sockets.add(client);
            client.on("close", () => this.sockets.delete(client));
            const target = req.url ?? "";
            if (target !== `${LOGIN_HOST}:443` && target !== `${GRAPH_HOST}:443`) {
                this.refusedConnects.push(target);
                client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
                return;
            }
            const upstream = connect((https.address() as AddressInfo).port, "127.0.0.1", () => {
                client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
                if (head.length) upstream.write(head);
                upstream.pipe(client);
                client.pipe(upstream);
            });
            this.sockets.add(upstream);
            upstream.on("close", () => this.sockets.delete(upstream));
            upstream.on("error", () => client.destroy());
            client.on("error", () => upstream.destroy());
        });
        https.on("connection", (s: Socket) => {
            this.sockets.add(s);
            s.on("close", () => this.sockets.delete(s));
        });
        for (const server of [https, proxy]) await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        this.proxyPort = (proxy.address() as AddressInfo).port;
        this.servers = [https, proxy];
        return this;
    }

    async stop(): Promise<void> {
        for (const s of this.sockets) s.destroy();
        await Promise.all(this.servers.map((s) => new Promise((ok) => s.close(ok))));
        if (this.caDir) rmSync(this.caDir, { recursive: true, force: true });
    }

    // ---------------------------------------------------------------------------------------------
    // Dispatch

    private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const host = (req.headers.host ?? "").replace(/:443$/, "");
        const url = new URL(req.url ?? "/", `https://${host}`);
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString("utf8");
        const call: GraphCall = { method: req.method ?? "", host, path: url.pathname, version: "", query: url.search, status: 0, at: 0 };
        const send = (status: number, body?: unknown, type = "application/json") => {
            call.status = status;
            call.at = Date.now();
            this.calls.push(call);
            const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
            res.writeHead(status, body === undefined ? {} : { "Content-Type": `${type}; charset=utf-8` }).end(text);
        };
        try {
            if (host === LOGIN_HOST) return this.login(req.method ?? "", url, raw, send);
            if (host !== GRAPH_HOST) throw new GraphError(400, "BadRequest", `unknown host ${host}`);
            const m = /^\/(v1\.0|beta)(\/.*)$/.exec(url.pathname);
            if (!m) throw new GraphError(400, "BadRequest", "Invalid version");
            call.version = m[1];
            call.path = m[2].replace(/\/$/, "");
            const auth = req.headers.authorization ?? "";
            if (!auth.startsWith("Bearer ") || !this.tokens.has(auth.slice(7))) {
                // https://learn.microsoft.com/en-us/graph/errors: 401 for missing or invalid authentication.
                throw new GraphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.");
            }
            const body = raw ? (JSON.parse(raw) as Json) : {};
            const [status, out] = this.route(req.method ?? "", call.path.split("/").slice(1).map(decodeURIComponent), url.searchParams, body, m[1]);
            send(status, out === undefined ? undefined : { "@odata.context": `https://${GRAPH_HOST}/${m[1]}/$metadata`, ...out });
        } catch (e) {
            if (e instanceof GraphError) {
                if (e.status === 501) this.unhandled.push(`${req.method} ${host}${url.pathname}${url.search}`);
                send(e.status, {
                    error: {
                        code: e.code,
                        message: e.message,
                        innerError: { date: new Date().toISOString().slice(0, 19), "request-id": randomUUID(), "client-request-id": randomUUID() },
                    },
                });
            } else {
                this.unhandled.push(`${req.method} ${host}${url.pathname}: ${(e as Error).message}`);
                send(500, { error: { code: "InternalServerError", message: (e as Error).message } });
            }
        }
    }

    /**
     * POST /{tenant}/oauth2/v2.0/token, client credentials grant.
     * "Microsoft identity platform and the OAuth 2.0 client credentials flow"
     * (https://docs.microsoft.com/en-us/azure/active-directory/develop/v2-oauth2-client-creds-grant-flow):
     * form fields client_id, scope (`<resource>/.default`), client_secret, grant_type=client_credentials;
     * success is 200 with token_type "Bearer", expires_in and access_token; errors are 400/401 with
     * `error`, `error_description` (AADSTS codes). The token's claims (oid, tid, appid, idtyp) are what the
     * provider reads without checking the signature (../shared/vendor/README.md); the signature here is
     * random bytes and only tokens this stand-in issued are accepted by its Graph.
     */
    private login(method: string, url: URL, raw: string, send: (s: number, b?: unknown) => void): void {
        const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
        if (method !== "POST" || !m) throw new GraphError(501, "NotImplemented", `${method} ${url.pathname}`);
        const form = new URLSearchParams(raw);
        const fail = (status: number, error: string, description: string) =>
            send(status, {
                error,
                error_description: `${description}\r\nTrace ID: ${randomUUID()}`,
                error_codes: [Number(description.slice(6, 13))],
                timestamp: new Date().toISOString(),
            });
        if (m[1] !== this.tenantId) return fail(400, "invalid_request", `AADSTS90002: Tenant '${m[1]}' not found.`);
        if (form.get("grant_type") !== "client_credentials")
            return fail(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
        if (form.get("client_id") !== this.deployer.clientId)
            return fail(400, "unauthorized_client", `AADSTS700016: Application with identifier '${form.get("client_id")}' was not found in the directory.`);
        if (form.get("client_secret") !== this.deployer.secret) return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
        if (form.get("scope") !== `https://${GRAPH_HOST}/.default`)
            return fail(400, "invalid_scope", `AADSTS1002012: The provided value for scope ${form.get("scope")} is not valid.`);
        const now = Math.floor(Date.now() / 1000);
        const token = [
            b64url({ typ: "JWT", alg: "RS256", kid: "posit-workbench-entra-test" }),
            b64url({
                aud: `https://${GRAPH_HOST}`,
                iss: `https://sts.windows.net/${this.tenantId}/`,
                iat: now,
                nbf: now,
                exp: now + 3599,
                appid: this.deployer.clientId,
                app_displayname: "posit-workbench-entra CI",
                idtyp: "app",
                oid: this.deployer.objectId,
                sub: this.deployer.objectId,
                tid: this.tenantId,
                roles: ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Synchronization.ReadWrite.All", "Group.Read.All"],
                ver: "1.0",
            }),
            randomBytes(64).toString("base64url"),
        ].join(".");
        this.tokens.add(token);
        send(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token });
    }

    private route(method: string, seg: string[], q: URLSearchParams, body: Json, version: string): [number, Json | undefined] {
        const [collection, id, sub, subId, action] = seg;
        const n = seg.length;
        const is = (m: string, len: number, name?: string) => method === m && n === len && (name === undefined || seg[2] === name);
        switch (collection) {
            case "applicationTemplates":
                if (is("GET", 2)) return [200, this.getApplicationTemplate(id)];
                if (method === "POST" && n === 3 && sub === "instantiate") return [201, this.instantiate(id, body)];
                break;
            case "applications":
                if (is("GET", 1)) return [200, this.list([...this.applications.values()], q)];
                if (is("GET", 2)) return [200, this.select(this.application(id), q)];
                if (is("PATCH", 2)) return this.updateApplication(id, body);
                if (is("DELETE", 2)) return this.deleteApplication(id);
                if (is("POST", 3, "addPassword")) return [200, this.addPassword(id, body)];
                if (is("POST", 3, "removePassword")) return this.removePassword(id, body);
                if (is("GET", 3, "owners")) return [200, this.owners(this.application(id))];
                break;
            case "servicePrincipals":
                if (is("GET", 1))
                    return [
                        200,
                        this.list(
                            [...this.servicePrincipals.values()].map((sp) => this.spView(sp)),
                            q,
                        ),
                    ];
                if (is("GET", 2)) return [200, this.select(this.spView(this.servicePrincipal(id)), q)];
                if (is("PATCH", 2)) return this.updateServicePrincipal(id, body);
                if (is("DELETE", 2)) return this.deleteServicePrincipal(id);
                if (is("GET", 3, "owners")) return [200, this.owners(this.servicePrincipal(id))];
                if (sub === "appRoleAssignedTo") {
                    if (is("POST", 3)) return [201, this.assign(id, body)];
                    if (is("GET", 3))
                        return [
                            200,
                            this.list(
                                [...this.assignments.values()].filter((a) => a.resourceId === this.servicePrincipal(id).id),
                                q,
                            ),
                        ];
                    if (is("GET", 4)) return [200, this.assignment(id, subId)];
                    if (is("DELETE", 4)) return this.unassign(id, subId);
                }
                if (sub === "synchronization") return this.synchronization(method, id, seg.slice(3), body, q);
                break;
            case "groups":
                if (is("GET", 1)) return [200, this.list([...this.groups.values()], q)];
                if (is("GET", 2)) return [200, this.select(this.group(id), q)];
                // Membership is not modelled: no group in these tests has members or owners.
                if (method === "GET" && n === 3 && ["members", "owners", "transitiveMembers"].includes(sub)) return [200, { value: (this.group(id), []) }];
                break;
            case "oauth2PermissionGrants":
                if (is("POST", 1)) return [201, this.grant(body)];
                if (is("GET", 2)) return [200, this.getGrant(id)];
                if (is("PATCH", 2)) return this.updateGrant(id, body);
                if (is("DELETE", 2)) return this.deleteGrant(id);
                break;
        }
        void action;
        void version;
        throw new GraphError(501, "NotImplemented", `the test stand-in has no handler for ${method} /${seg.join("/")}`);
    }

    // ---------------------------------------------------------------------------------------------
    // Queries

    /**
     * $filter with `prop eq 'text'` / `prop eq true|false` terms joined by `and`; anything else is refused
     * (400), so an unexpected query fails the test instead of matching everything.
     * "Use the $filter query parameter" (https://learn.microsoft.com/pt-br/graph/filter-query-parameter):
     * `eq` on string and Boolean properties, `and` to combine, single quotes doubled inside strings.
     */
    private list(items: Json[], q: URLSearchParams): Json {
        const filter = q.get("$filter");
        let out = items;
        if (filter) {
            const terms = filter.split(/\s+and\s+/i).map((t) => {
                const m = /^(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(true|false))$/.exec(t.trim());
                if (!m) throw badRequest(`Unsupported or invalid query filter clause specified for property: ${t}`, "Request_UnsupportedQuery");
                return { prop: m[1], value: m[2] !== undefined ? m[2].replace(/''/g, "'") : m[3] === "true" };
            });
            out = items.filter((o) => terms.every((t) => o[t.prop] === t.value));
        }
        return { value: out.map((o) => this.select(o, q)) };
    }

    /** $select: the id and the named properties only. "Use query parameters to customize responses" (https://learn.microsoft.com/en-ca/graph/query-parameters). */
    private select(o: Json, q: URLSearchParams): Json {
        const sel = q.get("$select");
        if (!sel) return clone(o);
        const out: Json = { id: o.id };
        for (const p of sel.split(",")) out[p] = p in o ? clone(o[p]) : null;
        return out;
    }

    /** Owners: nobody. ASSUMED: neither instantiate nor these tests add owners (the pages do not say whether instantiate makes the caller one). */
    private owners(o: Json): Json {
        void o;
        return { value: [] };
    }

    // ---------------------------------------------------------------------------------------------
    // Application templates, applications

    /**
     * GET /applicationTemplates/{id}. "Get applicationTemplate"
     * (https://learn.microsoft.com/en-us/graph/api/applicationtemplate-get): the template or 404. Only the
     * non-gallery template is known here.
     */
    private getApplicationTemplate(id: string): Json {
        if (id !== NON_GALLERY_TEMPLATE_ID) throw notFound(id);
        return {
            id,
            displayName: "Custom",
            homePageUrl: null,
            supportedSingleSignOnModes: ["password", "saml", "notSupported"],
            supportedProvisioningTypes: ["sync"],
            logoUrl: null,
            categories: [],
            publisher: "Microsoft Corporation",
            description: null,
        };
    }

    /**
     * POST /applicationTemplates/{id}/instantiate {displayName}.
     * "applicationTemplate: instantiate" (https://learn.microsoft.com/en-us/graph/api/applicationtemplate-instantiate?view=graph-rest-1.0):
     * 8adf8e6e-67b2-4cf2-a259-e3dc5476c621 is the non-gallery template; 201 Created with an
     * applicationServicePrincipal (`application`, `servicePrincipal`). Both carry the template's id and
     * roles (TEMPLATE_APP_ROLES, ASSUMED for the application, see there).
     */
    private instantiate(templateId: string, body: Json): Json {
        this.getApplicationTemplate(templateId);
        if (typeof body.displayName !== "string" || !body.displayName) throw badRequest("displayName is required");
        const app = this.newApplication(body.displayName, templateId);
        this.applications.set(app.id as string, app);
        const sp = this.newServicePrincipal({
            appId: app.appId as string,
            displayName: body.displayName,
            applicationTemplateId: templateId,
            appOwnerOrganizationId: this.tenantId,
        });
        this.servicePrincipals.set(sp.id as string, sp);
        return { application: clone(app), servicePrincipal: this.spView(sp) };
    }

    private newApplication(displayName: string, templateId: string | null): Json {
        return {
            id: randomUUID(),
            appId: randomUUID(),
            applicationTemplateId: templateId,
            createdDateTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
            deletedDateTime: null,
            description: null,
            disabledByMicrosoftStatus: null,
            displayName,
            groupMembershipClaims: null,
            identifierUris: [],
            isDeviceOnlyAuthSupported: null,
            isFallbackPublicClient: null,
            notes: null,
            publisherDomain: "e2e.onmicrosoft.com",
            serviceManagementReference: null,
            signInAudience: "AzureADMyOrg",
            tags: [],
            tokenEncryptionKeyId: null,
            addIns: [],
            api: {
                acceptMappedClaims: null,
                knownClientApplications: [],
                requestedAccessTokenVersion: null,
                oauth2PermissionScopes: [],
                preAuthorizedApplications: [],
            },
            appRoles: templateId ? clone(TEMPLATE_APP_ROLES) : [],
            info: { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
            keyCredentials: [],
            optionalClaims: null,
            parentalControlSettings: { countriesBlockedForMinors: [], legalAgeGroupRule: "Allow" },
            passwordCredentials: [],
            publicClient: { redirectUris: [] },
            requiredResourceAccess: [],
            spa: { redirectUris: [] },
            web: {
                homePageUrl: null,
                logoutUrl: null,
                redirectUris: [],
                implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
                redirectUriSettings: [],
            },
        };
    }

    /** GET /applications/{id}. "Get application" (https://learn.microsoft.com/graph/api/application-get?view=graph-rest-1.0): the object or 404. */
    private application(id: string): Json {
        const app = this.applications.get(id);
        if (!app) throw notFound(id);
        return app;
    }

    /**
     * PATCH /applications/{id}. "Update application"
     * (https://learn.microsoft.com/en-us/graph/api/application-update?tabs=http&view=graph-rest-1.0):
     * properties in the body replace their values, the others are kept; passwordCredentials cannot be
     * set this way (addPassword/removePassword); 204 No Content. An enabled app role cannot be removed
     * (ASSUMED from the appRole resource's "must be disabled before deletion", which the provider honours
     * by disabling roles first); roles in use by assignments are kept as the service principal's roles.
     */
    private updateApplication(id: string, body: Json): [number, undefined] {
        const app = this.application(id);
        if ("passwordCredentials" in body) throw badRequest("Property 'passwordCredentials' is read-only and cannot be set.");
        if (Array.isArray(body.appRoles)) {
            const next = body.appRoles as Json[];
            for (const role of app.appRoles as Json[]) {
                if (role.isEnabled && !next.some((r) => r.id === role.id))
                    throw badRequest(
                        "Property appRoles.value is invalid. CannotDeleteOrUpdateEnabledEntitlement: an app role must be disabled before it is deleted.",
                        "CannotDeleteOrUpdateEnabledEntitlement",
                    );
            }
        }
        for (const [k, v] of Object.entries(body)) if (k !== "id" && k !== "appId") app[k] = clone(v);
        return [204, undefined];
    }

    /**
     * DELETE /applications/{id}. "Delete application" (https://learn.microsoft.com/hu-hu/graph/api/application-delete):
     * 204 No Content; the app goes to deleted items (not modelled: a GET then answers 404).
     */
    private deleteApplication(id: string): [number, undefined] {
        this.application(id);
        this.applications.delete(id);
        return [204, undefined];
    }

    /**
     * POST /applications/{id}/addPassword {passwordCredential: {displayName, endDateTime, startDateTime}}.
     * "application: addPassword" (https://learn.microsoft.com/en-us/graph/api/application-addpassword?view=graph-rest-beta&tabs=http,
     * and the passwordCredential resource, https://learn.microsoft.com/en-ie/graph/api/resources/passwordcredential?view=graph-rest-beta):
     * 200 OK with the new passwordCredential including secretText (returned only here, never by a GET),
     * hint = its first three characters, keyId a new GUID; endDateTime defaults to two years
     * (facts.md section 1: "Without endDate, Graph defaults to two years").
     */
    private addPassword(id: string, body: Json): Json {
        const app = this.application(id);
        const req = (body.passwordCredential ?? {}) as Json;
        const secretText = `${randomChars(3, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}8Q~${randomChars(34)}`;
        const start = (req.startDateTime as string) ?? new Date().toISOString();
        const cred = {
            customKeyIdentifier: null,
            displayName: (req.displayName as string) ?? null,
            endDateTime: (req.endDateTime as string) ?? new Date(Date.parse(start) + 2 * 365 * 86_400_000).toISOString(),
            hint: secretText.slice(0, 3),
            keyId: randomUUID(),
            secretText: null,
            startDateTime: start,
        };
        (app.passwordCredentials as Json[]).push(cred);
        this.issuedSecrets.push(secretText);
        return { ...clone(cred), secretText };
    }

    /**
     * POST /applications/{id}/removePassword {keyId}. "application: removePassword"
     * (https://learn.microsoft.com/en-us/graph/api/application-removepassword?view=graph-rest-beta&tabs=http): 204 No Content.
     * ASSUMED: an unknown keyId is a 400 (the page does not say).
     */
    private removePassword(id: string, body: Json): [number, undefined] {
        const app = this.application(id);
        const creds = app.passwordCredentials as Json[];
        const i = creds.findIndex((c) => c.keyId === body.keyId);
        if (i < 0) throw badRequest(`No password credential found with keyId ${String(body.keyId)}.`);
        creds.splice(i, 1);
        return [204, undefined];
    }

    // ---------------------------------------------------------------------------------------------
    // Service principals

    private newServicePrincipal(p: { id?: string; appId: string; displayName: string; applicationTemplateId?: string; appOwnerOrganizationId?: string }): Json {
        return {
            id: p.id ?? randomUUID(),
            appId: p.appId,
            applicationTemplateId: p.applicationTemplateId ?? null,
            appOwnerOrganizationId: p.appOwnerOrganizationId ?? this.tenantId,
            accountEnabled: true,
            alternativeNames: [],
            appDisplayName: p.displayName,
            appRoleAssignmentRequired: false,
            appRoles: [],
            description: null,
            displayName: p.displayName,
            homepage: null,
            info: { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
            keyCredentials: [],
            loginUrl: null,
            logoutUrl: null,
            notes: null,
            notificationEmailAddresses: [],
            oauth2PermissionScopes: [],
            passwordCredentials: [],
            preferredSingleSignOnMode: null,
            replyUrls: [],
            samlSingleSignOnSettings: null,
            samlMetadataUrl: null,
            servicePrincipalNames: [p.appId],
            servicePrincipalType: "Application",
            signInAudience: "AzureADMyOrg",
            tags: [],
        };
    }

    /**
     * A service principal as Graph returns it: its app roles and reply URLs are its application's
     * ("Application and service principal objects in Microsoft Entra ID": the service principal is the
     * application's local instance and inherits its roles; ASSUMED to the degree the pages give no field list).
     */
    private spView(sp: Json): Json {
        const app = [...this.applications.values()].find((a) => a.appId === sp.appId);
        const out = clone(sp);
        if (app) {
            out.appRoles = clone(app.appRoles);
            out.replyUrls = clone(((app.web ?? {}) as Json).redirectUris ?? []);
        }
        return out;
    }

    /** GET /servicePrincipals/{id}. the object or 404, as for applications ("Get application" above; the service principal page was not retrieved here). */
    private servicePrincipal(id: string): Json {
        const sp = this.servicePrincipals.get(id);
        if (!sp) throw notFound(id);
        return sp;
    }

    /**
     * PATCH /servicePrincipals/{id}. "Update servicePrincipal" (https://learn.microsoft.com/graph/api/serviceprincipal-update):
     * as for applications, 204 No Content; "Service principals inherit specific properties from their
     * associated app registrations" (hence spView).
     */
    private updateServicePrincipal(id: string, body: Json): [number, undefined] {
        const sp = this.servicePrincipal(id);
        for (const [k, v] of Object.entries(body)) if (!["id", "appId", "appRoles"].includes(k)) sp[k] = clone(v);
        return [204, undefined];
    }

    /**
     * DELETE /servicePrincipals/{id}. "Delete servicePrincipal" (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-delete):
     * 204 No Content. Its app role assignments, synchronization jobs and secrets go with it.
     */
    private deleteServicePrincipal(id: string): [number, undefined] {
        this.servicePrincipal(id);
        this.servicePrincipals.delete(id);
        for (const [aid, a] of this.assignments) if (a.resourceId === id) this.assignments.delete(aid);
        for (const [key, job] of this.syncJobs) if (job.servicePrincipalId === id) this.syncJobs.delete(key);
        this.syncSecrets.delete(id);
        return [204, undefined];
    }

    // ---------------------------------------------------------------------------------------------
    // App role assignments

    /**
     * POST /servicePrincipals/{resource-id}/appRoleAssignedTo {appRoleId, principalId, resourceId}.
     * "Grant an appRoleAssignment for a service principal" (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto):
     * principalId is a user, group or service principal; resourceId the resource service principal;
     * appRoleId one of its app roles. 201 Created with the appRoleAssignment. ASSUMED: an unknown
     * principal or role is a 400 and the assignment's id is an opaque URL-safe string (as Graph's are).
     */
    private assign(resourceSpId: string, body: Json): Json {
        const sp = this.spView(this.servicePrincipal(resourceSpId));
        if (body.resourceId !== resourceSpId) throw badRequest("resourceId must be the service principal in the URL.");
        const role = (sp.appRoles as Json[]).find((r) => r.id === body.appRoleId && r.isEnabled);
        if (!role) throw badRequest("Permission being assigned was not found on application");
        const principalId = body.principalId as string;
        const user = this.users.get(principalId);
        const group = this.groups.get(principalId);
        const spPrincipal = this.servicePrincipals.get(principalId);
        const principal = user ?? group ?? spPrincipal;
        if (!principal) throw badRequest(`Invalid principal: ${principalId}`, "Request_BadRequest");
        for (const a of this.assignments.values()) {
            if (a.resourceId === resourceSpId && a.principalId === principalId && a.appRoleId === body.appRoleId)
                throw badRequest("Permission being assigned already exists on the object", "Request_BadRequest");
        }
        const a = {
            id: randomBytes(32).toString("base64url").slice(0, 43),
            appRoleId: body.appRoleId,
            createdDateTime: new Date().toISOString(),
            deletedDateTime: null,
            principalDisplayName: principal.displayName,
            principalId,
            principalType: user ? "User" : group ? "Group" : "ServicePrincipal",
            resourceDisplayName: sp.displayName,
            resourceId: resourceSpId,
        };
        this.assignments.set(a.id, a);
        return clone(a);
    }

    /** GET /servicePrincipals/{id}/appRoleAssignedTo/{assignment-id}: the assignment or 404 (the appRoleAssignedTo navigation, same page as above). */
    private assignment(spId: string, aid: string): Json {
        const a = this.assignments.get(aid);
        if (!a || a.resourceId !== spId) throw notFound(aid);
        return clone(a);
    }

    /**
     * DELETE /servicePrincipals/{resource-id}/appRoleAssignedTo/{id}. "Delete appRoleAssignedTo"
     * (https://learn.microsoft.com/powershell/module/microsoft.graph.applications/remove-mgserviceprincipalapproleassignedto,
     * the Graph SDK's page for this call): 204 No Content.
     */
    private unassign(spId: string, aid: string): [number, undefined] {
        this.assignment(spId, aid);
        this.assignments.delete(aid);
        return [204, undefined];
    }

    // ---------------------------------------------------------------------------------------------
    // Groups

    /** GET /groups/{id}. the group or 404, as for applications (the group pages were not retrieved here); listed with $filter as above. */
    private group(id: string): Json {
        const g = this.groups.get(id);
        if (!g) throw notFound(id);
        return g;
    }

    // ---------------------------------------------------------------------------------------------
    // Delegated permission grants (admin consent)

    /**
     * POST /oauth2PermissionGrants {clientId, consentType, resourceId, scope}. "Create oAuth2PermissionGrant"
     * (https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-post?view=graph-rest-1.0&tabs=http): 201 Created
     * with the grant; Get, Update (no content) and Delete (no content) on /oauth2PermissionGrants/{id}, per the
     * "oAuth2PermissionGrant resource type" page (https://learn.microsoft.com/cs-cz/graph/api/resources/oauth2permissiongrant).
     */
    private grant(body: Json): Json {
        this.servicePrincipal(body.clientId as string);
        this.servicePrincipal(body.resourceId as string);
        const g = {
            id: randomBytes(32).toString("base64url").slice(0, 43),
            clientId: body.clientId,
            consentType: body.consentType ?? "AllPrincipals",
            principalId: body.principalId ?? null,
            resourceId: body.resourceId,
            scope: body.scope ?? "",
        };
        this.grants.set(g.id, g);
        return clone(g);
    }

    private getGrant(id: string): Json {
        const g = this.grants.get(id);
        if (!g) throw notFound(id);
        return clone(g);
    }

    private updateGrant(id: string, body: Json): [number, undefined] {
        const g = this.grants.get(id);
        if (!g) throw notFound(id);
        if (typeof body.scope === "string") g.scope = body.scope;
        return [204, undefined];
    }

    private deleteGrant(id: string): [number, undefined] {
        if (!this.grants.delete(id)) throw notFound(id);
        return [204, undefined];
    }

    // ---------------------------------------------------------------------------------------------
    // Synchronization (SCIM provisioning)

    private synchronization(method: string, spId: string, seg: string[], body: Json, q: URLSearchParams): [number, Json | undefined] {
        const sp = this.servicePrincipal(spId);
        const [kind, jobId, action] = seg;
        if (kind === "secrets" && seg.length === 1) {
            if (method === "PUT") return this.putSecrets(spId, body);
            if (method === "GET") return [200, this.getSecrets(spId)];
        }
        if (kind === "jobs") {
            if (seg.length === 1 && method === "POST") return [201, this.createJob(sp, body)];
            if (seg.length === 1 && method === "GET")
                return [
                    200,
                    this.list(
                        [...this.syncJobs.values()].filter((j) => j.servicePrincipalId === spId).map((j) => this.jobView(j)),
                        q,
                    ),
                ];
            const job = this.syncJobs.get(`${spId}/${jobId}`);
            if (!job) throw notFound(jobId);
            if (seg.length === 2 && method === "GET") return [200, this.jobView(job)];
            if (seg.length === 2 && method === "DELETE") return this.deleteJob(spId, jobId);
            if (seg.length === 3 && method === "POST" && action === "start") return this.setJobState(job, "Active");
            if (seg.length === 3 && method === "POST" && action === "pause") return this.setJobState(job, "Paused");
        }
        throw new GraphError(
            501,
            "NotImplemented",
            `the test stand-in has no handler for ${method} /servicePrincipals/${spId}/synchronization/${seg.join("/")}`,
        );
    }

    /**
     * PUT /servicePrincipals/{id}/synchronization/secrets {value: [{key, value}]}.
     * "Add synchronization secrets" (https://learn.microsoft.com/ja-jp/graph/api/synchronization-serviceprincipal-put-synchronization,
     * its English page https://learn.microsoft.com/en-my/graph/api/synchronization-serviceprincipal-put-synchronization?view=graph-rest-beta):
     * "Provide credentials for establishing connectivity with the target system"; keys such as BaseAddress,
     * SecretToken, SyncAll; 204 No Content. The PUT replaces the whole set (facts.md section 1).
     * ASSUMED: a key given an empty value is removed (the provider deletes secrets that way and waits
     * until the keys are gone).
     */
    private putSecrets(spId: string, body: Json): [number, undefined] {
        if (!Array.isArray(body.value)) throw badRequest("value is required");
        const pairs = (body.value as { key: string; value: string | null }[])
            .filter((p) => p.value !== "" && p.value !== null)
            .map((p) => ({ key: p.key, value: p.value as string }));
        this.syncSecrets.set(spId, pairs);
        return [204, undefined];
    }

    /**
     * GET /servicePrincipals/{id}/synchronization/secrets: the stored pairs. ASSUMED (no reference page
     * found): the token comes back as "*", as terraform-provider-azuread's
     * flattenSynchronizationSecretKeyStringValuePair expects ("API returns * indicating sensitive data").
     */
    private getSecrets(spId: string): Json {
        return { value: (this.syncSecrets.get(spId) ?? []).map((p) => ({ key: p.key, value: p.key === "SecretToken" ? "*" : p.value })) };
    }

    /**
     * POST /servicePrincipals/{id}/synchronization/jobs {templateId}. "Create synchronizationJob"
     * (https://learn.microsoft.com/en-us/graph/api/synchronization-synchronization-post-jobs): templateId is
     * required and must be one of the service principal's templates; the job is created disabled; 201
     * Created with the synchronizationJob.
     */
    private createJob(sp: Json, body: Json): Json {
        const templateId = body.templateId as string;
        const templates = this.options.syncTemplates ?? ["scim"];
        if (!templateId || !templates.includes(templateId))
            throw badRequest(`The templateId '${templateId}' does not match a template of this service principal.`, "InvalidTemplateId");
        const id = `${templateId}.${(sp.id as string).replace(/-/g, "")}.${NON_GALLERY_TEMPLATE_ID.replace(/-/g, "")}`;
        const job = {
            id,
            servicePrincipalId: sp.id,
            templateId,
            schedule: { expiration: null, interval: "PT40M", state: "Disabled" },
            status: {
                code: "NotConfigured",
                countSuccessiveCompleteFailures: 0,
                escrowsPruned: false,
                lastExecution: null,
                lastSuccessfulExecution: null,
                lastSuccessfulExecutionWithExports: null,
                progress: [],
                quarantine: null,
                steadyStateFirstAchievedTime: "0001-01-01T00:00:00Z",
                steadyStateLastAchievedTime: "0001-01-01T00:00:00Z",
                synchronizedEntryCountByType: [],
                troubleshootingUrl: null,
            },
            synchronizationJobSettings: [],
        };
        this.syncJobs.set(`${sp.id}/${id}`, job);
        return this.jobView(job);
    }

    private jobView(job: Json): Json {
        const out = clone(job);
        delete out.servicePrincipalId;
        return out;
    }

    /**
     * POST .../jobs/{jobId}/start: "Start synchronizationJob" (https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-start),
     * 204 No Content, the job runs (schedule state Active). .../pause: ASSUMED the mirror (204, state Paused; the pause page was not retrieved here).
     */
    private setJobState(job: Json, state: string): [number, undefined] {
        (job.schedule as Json).state = state;
        return [204, undefined];
    }

    /**
     * DELETE .../jobs/{jobId}. "Delete synchronizationJob" (https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-delete):
     * "Stop the synchronization job, and permanently delete all the state associated with it"; 204 No Content.
     */
    private deleteJob(spId: string, jobId: string): [number, undefined] {
        this.syncJobs.delete(`${spId}/${jobId}`);
        return [204, undefined];
    }
}

export async function startFakeEntra(options?: FakeEntraOptions): Promise<FakeEntra> {
    return new FakeEntra(options).start();
}
