/**
 * The SCIM endpoint probe (check/endpoint.ts) against local HTTPS servers on 127.0.0.1: the endpoint's name is
 * mapped to them by the probe's connectTo option (no hosts file), its certificates made by ./certs.ts.
 */
import { createServer, Server } from "node:https";
import { AddressInfo, createServer as createTcpServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeScimEndpoint } from "../../check/endpoint";
import { KeyPair, makeProbeCertificates, ProbeCertificates } from "./certs";

const NAME = "workbench.example.com";
const URL = `https://${NAME}/scim/v2`;
let certs: ProbeCertificates;
const servers: Server[] = [];
const requests: Array<{ path?: string; authorization?: string }> = [];

/** An HTTPS server with this key pair answering like Workbench's SCIM endpoint without a token (401). */
async function serve(pair: KeyPair): Promise<number> {
    const server = createServer({ key: pair.key, cert: pair.cert }, (req, res) => {
        requests.push({ path: req.url, authorization: req.headers.authorization });
        res.writeHead(401, { "content-type": "application/scim+json" }).end('{"status":"401"}');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
}

beforeAll(() => {
    certs = makeProbeCertificates(NAME);
});
afterAll(() => {
    for (const s of servers) s.close();
    certs.cleanup();
});

describe("the SCIM endpoint as Entra ID sees it", () => {
    it("accepts a certificate for the name from a CA Node trusts, and says what answers without a token", async () => {
        const port = await serve(certs.good);
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port }, extraCa: [certs.ca] });
        expect(probe.status).toBe("ok");
        expect(probe.lines[0]).toMatch(/^certificate for workbench\.example\.com, issued by posit-workbench-entra probe test CA, valid \d{4}-\d\d-\d\d to /);
        expect(probe.lines[1]).toBe("GET /scim/v2 without a token: HTTP 401 Unauthorized");
        expect(requests.at(-1)).toEqual({ path: "/scim/v2", authorization: undefined });
    });

    it("reports the same certificate as not publicly trusted when Node does not know its CA (the default public store)", async () => {
        const port = await serve(certs.good);
        const before = requests.length;
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port } });
        expect(probe).toMatchObject({ status: "problem", certificate: "not publicly trusted" });
        expect(probe.lines[0]).toContain("not signed by a publicly trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)");
        expect(probe.lines[0]).toContain("self-signed certificates are not supported for SCIM");
        // Nothing is sent over a connection Entra ID would refuse.
        expect(requests.length).toBe(before);
    });

    it("reports a self-signed certificate as a problem, even with the test CA trusted", async () => {
        const port = await serve(certs.selfSigned);
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port }, extraCa: [certs.ca] });
        expect(probe).toMatchObject({ status: "problem", certificate: "self-signed" });
        expect(probe.lines[0]).toBe(
            `${URL}: the certificate is self-signed: Entra ID will not provision to it (Posit: a publicly trusted CA-signed certificate is required, self-signed certificates are not supported for SCIM)`,
        );
    });

    it("reports a certificate for another name, naming the name it is for", async () => {
        const port = await serve(certs.otherName);
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port }, extraCa: [certs.ca] });
        expect(probe).toMatchObject({ status: "problem", certificate: "for another name" });
        expect(probe.lines[0]).toContain("issued for other.example.net, not workbench.example.com");
    });

    it("says both when a self-signed certificate is for another name too (Node checks the name only on a good chain)", async () => {
        const port = await serve(certs.selfSignedOther);
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port } });
        expect(probe).toMatchObject({ status: "problem", certificate: "self-signed" });
        expect(probe.lines[0]).toContain(
            "the certificate is self-signed; issued for other.example.net, not workbench.example.com: Entra ID will not provision to it",
        );
    });

    it("reports an expired certificate", async () => {
        const port = await serve(certs.expired);
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port }, extraCa: [certs.ca] });
        expect(probe).toMatchObject({ status: "problem", certificate: "expired" });
        expect(probe.lines[1]).toContain("valid 2020-01-01 to 2020-01-02");
    });

    it("judges the certificate alone when the endpoint takes its time to answer (the certificate is what Entra ID needs first)", async () => {
        const mute = createServer({ key: certs.good.key, cert: certs.good.cert }, () => {});
        servers.push(mute);
        await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
        const probe = await probeScimEndpoint(URL, {
            connectTo: { host: "127.0.0.1", port: (mute.address() as AddressInfo).port },
            extraCa: [certs.ca],
            timeoutMs: 500,
        });
        mute.closeAllConnections();
        expect(probe.status).toBe("ok");
        expect(probe.lines[1]).toBe("GET /scim/v2: no HTTP answer within 0.5 s");
    });

    it("says an endpoint it cannot reach is a warning (this machine is not Entra ID)", async () => {
        // A port that was just free: nothing listens there.
        const tcp = createTcpServer();
        await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
        const port = (tcp.address() as AddressInfo).port;
        await new Promise((resolve) => tcp.close(resolve));
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port } });
        expect(probe.status).toBe("warning");
        expect(probe.lines[0]).toBe(
            `${URL} is not reachable from this machine (ECONNREFUSED); Entra ID connects from the internet on port 443, so check from there too`,
        );
    });

    it("gives up after its timeout on an endpoint that accepts but never finishes a handshake", async () => {
        const silent = createTcpServer(() => {});
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const port = (silent.address() as AddressInfo).port;
        const probe = await probeScimEndpoint(URL, { connectTo: { host: "127.0.0.1", port }, timeoutMs: 300 });
        silent.close();
        expect(probe).toMatchObject({ status: "warning" });
        expect(probe.lines[0]).toContain("no TLS handshake within 0.3 s");
    });
});
