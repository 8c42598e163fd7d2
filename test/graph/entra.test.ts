// The Entra ID / Microsoft Graph stand-in on its own, reached as the azuread provider reaches it: through
// its CONNECT proxy, over TLS checked against its CA only. Seconds; needs the openssl command.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeEntra, GRAPH_HOST, LOGIN_HOST, NON_GALLERY_TEMPLATE_ID, startFakeEntra, TEMPLATE_APP_ROLES } from "./entra";

interface Reply {
    status: number;
    body: Record<string, unknown>;
}

/** One HTTPS request to `host` through the stand-in's proxy (CONNECT, then TLS trusting only its CA). */
function call(
    graph: FakeEntra,
    host: string,
    method: string,
    path: string,
    { body, token, form }: { body?: unknown; token?: string; form?: Record<string, string> } = {},
): Promise<Reply> {
    const proxy = new URL(graph.env().HTTPS_PROXY);
    return new Promise((resolve, reject) => {
        httpRequest({ host: proxy.hostname, port: proxy.port, method: "CONNECT", path: `${host}:443` })
            .on("connect", (res, socket) => {
                if (res.statusCode !== 200) return reject(new Error(`CONNECT ${host}: ${res.statusCode}`));
                const payload = form ? new URLSearchParams(form).toString() : body === undefined ? "" : JSON.stringify(body);
                const req = httpsRequest(
                    {
                        host,
                        servername: host,
                        socket,
                        agent: false,
                        ca: readFileSync(graph.caFile),
                        method,
                        path,
                        headers: {
                            "Content-Type": form ? "application/x-www-form-urlencoded" : "application/json",
                            ...(token ? { Authorization: `Bearer ${token}` } : {}),
                        },
                    } as never,
                    (r) => {
                        let text = "";
                        r.on("data", (c) => (text += c)).on("end", () =>
                            resolve({ status: r.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
                        );
                    },
                );
                req.on("error", reject);
                req.end(payload);
            })
            .on("error", reject)
            .end();
    });
}

describe("the Entra ID and Graph stand-in", () => {
    let graph: FakeEntra;
    let token = "";
    const g = (method: string, path: string, body?: unknown) => call(graph, GRAPH_HOST, method, `/v1.0${path}`, { body, token });

    beforeAll(async () => {
        graph = await startFakeEntra();
    });
    afterAll(async () => {
        await graph?.stop();
    });

    it("issues a token for the deployer's secret only, with the claims the provider reads", async () => {
        const form = {
            client_id: graph.deployer.clientId,
            client_secret: graph.deployer.secret,
            grant_type: "client_credentials",
            scope: `https://${GRAPH_HOST}/.default`,
        };
        const wrong = await call(graph, LOGIN_HOST, "POST", `/${graph.tenantId}/oauth2/v2.0/token`, { form: { ...form, client_secret: "not-it" } });
        expect(wrong.status).toBe(401);
        expect(wrong.body.error_description).toMatch(/^AADSTS7000215/);
        const ok = await call(graph, LOGIN_HOST, "POST", `/${graph.tenantId}/oauth2/v2.0/token`, { form });
        expect(ok.status).toBe(200);
        token = ok.body.access_token as string;
        const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as Record<string, string>;
        expect(claims).toMatchObject({ oid: graph.deployer.objectId, tid: graph.tenantId, appid: graph.deployer.clientId });
    });

    it("refuses Graph calls without a token it issued, and tunnels to no other host", async () => {
        expect((await call(graph, GRAPH_HOST, "GET", "/v1.0/applications", { token: "x.y.z" })).status).toBe(401);
        await expect(call(graph, "example.com", "GET", "/")).rejects.toThrow(/CONNECT example.com: 403/);
        expect(graph.refusedConnects).toEqual(["example.com:443"]);
    });

    it("instantiates the non-gallery template into an app and a service principal with the template's roles", async () => {
        const made = await g("POST", `/applicationTemplates/${NON_GALLERY_TEMPLATE_ID}/instantiate`, { displayName: "TEMP" });
        expect(made.status).toBe(201);
        const app = made.body.application as Record<string, unknown>;
        const listed = await g(
            "GET",
            `/applications?$filter=${encodeURIComponent(`applicationTemplateId eq '${NON_GALLERY_TEMPLATE_ID}' and displayName eq 'TEMP'`)}`,
        );
        expect((listed.body.value as { id: string }[]).map((a) => a.id)).toEqual([app.id]);
        const sps = await g("GET", `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${app.appId as string}'`)}`);
        const sp = (sps.body.value as Record<string, unknown>[])[0];
        expect(sp.applicationTemplateId).toBe(NON_GALLERY_TEMPLATE_ID);
        expect((sp.appRoles as { id: string }[]).map((r) => r.id)).toEqual(TEMPLATE_APP_ROLES.map((r) => r.id));
        expect((await g("GET", `/applications?$filter=${encodeURIComponent("startswith(displayName,'T')")}`)).status).toBe(400);
        expect((await g("PATCH", `/applications/${app.id as string}`, { appRoles: [] })).status).toBe(400);
        expect((await g("PATCH", `/applications/${app.id as string}`, { displayName: "Workbench" })).status).toBe(204);
        expect((await g("GET", `/applications/${app.id as string}`)).body.displayName).toBe("Workbench");
    });

    it("returns a password's secretText only when it is added", async () => {
        const app = [...graph.applications.values()][0];
        const added = await g("POST", `/applications/${app.id as string}/addPassword`, {
            passwordCredential: { displayName: "p", endDateTime: "2030-01-01T00:00:00Z" },
        });
        expect(added.status).toBe(200);
        expect(added.body.secretText).toHaveLength(40);
        const read = await g("GET", `/applications/${app.id as string}`);
        expect(JSON.stringify(read.body)).not.toContain(added.body.secretText as string);
        expect((read.body.passwordCredentials as { keyId: string; endDateTime: string }[]).map((c) => [c.keyId, c.endDateTime])).toEqual([
            [added.body.keyId, "2030-01-01T00:00:00Z"],
        ]);
        expect((await g("POST", `/applications/${app.id as string}/removePassword`, { keyId: added.body.keyId })).status).toBe(204);
    });

    it("answers 501 to what it does not know and records it", async () => {
        expect((await g("GET", "/users/someone/memberOf")).status).toBe(501);
        expect(graph.unhandled).toEqual([`GET ${GRAPH_HOST}/v1.0/users/someone/memberOf`]);
        expect((await g("GET", "/applications/00000000-0000-0000-0000-000000000000")).status).toBe(404);
    });
});
