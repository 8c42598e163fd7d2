/**
 * The SCIM endpoint as Entra ID would see it: `https://<hostname>/scim/v2` opened with Node's default
 * public CA store, from wherever this runs (the `npm run check` runner, the machine running `pulumi up`).
 *
 * Posit's "Configure Entra ID with OpenID Connect"
 * (https://docs.posit.co/ide/server-pro/admin/quick-starts/entraid-openid.html), SCIM prerequisites: "A
 * publicly trusted Certificate Authority (CA) signed certificate. Self-signed certificates are not
 * supported for SCIM", and port 443 open between Entra ID and Workbench. So a certificate that is
 * self-signed, expired, issued for another name or not publicly trusted is a problem; an endpoint this
 * runner cannot reach is only a warning (the runner is not Entra ID, which connects from the internet).
 *
 * Nothing secret is sent: without a trusted certificate the connection is closed after the handshake;
 * with one, a plain `GET /scim/v2` without a token (Workbench should answer 401) shows something answers.
 */
import { PeerCertificate, rootCertificates, TLSSocket, checkServerIdentity, connect } from "node:tls";

export type ProbeStatus = "ok" | "warning" | "problem";

export interface EndpointProbe {
    url: string;
    status: ProbeStatus;
    /** What was found, one line each: the certificate's names and dates, the HTTP answer, or what is wrong. */
    lines: string[];
    /** What is wrong with the certificate, when something is: "self-signed", "expired", ... */
    certificate?: "self-signed" | "expired" | "not yet valid" | "for another name" | "not publicly trusted";
}

export interface ProbeOptions {
    /**
     * Where to connect instead of the URL's host and port (TLS still checks the URL's host name). For tests,
     * which serve the endpoint on 127.0.0.1: no hosts file is touched.
     */
    connectTo?: { host: string; port: number };
    /** Certificate authorities trusted beside the default public ones (tests: a throwaway CA). */
    extraCa?: string[];
    timeoutMs?: number;
}

/** Node's (OpenSSL's) verification codes, as a reader would say them. */
function certificateProblem(code: string): EndpointProbe["certificate"] {
    if (code === "DEPTH_ZERO_SELF_SIGNED_CERT" || code === "SELF_SIGNED_CERT_IN_CHAIN") return "self-signed";
    if (code === "CERT_HAS_EXPIRED") return "expired";
    if (code === "CERT_NOT_YET_VALID") return "not yet valid";
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return "for another name";
    return "not publicly trusted";
}

const names = (cert: PeerCertificate) => cert.subjectaltname?.replace(/DNS:/g, "") || (cert.subject?.CN ? `CN=${cert.subject.CN}` : "no name");
const day = (date: string) => new Date(date).toISOString().slice(0, 10);

/** Opens the endpoint and says whether Entra ID would accept its certificate. Never throws. */
export async function probeScimEndpoint(url: string, options: ProbeOptions = {}): Promise<EndpointProbe> {
    const target = new URL(url);
    const hostname = target.hostname;
    const port = Number(target.port || 443);
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<EndpointProbe>((resolve) => {
        let settled = false;
        let socket: TLSSocket | undefined;
        const done = (result: EndpointProbe) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            socket?.destroy();
            resolve(result);
        };
        const unreachable = (why: string) =>
            done({
                url,
                status: "warning",
                lines: [`${url} is not reachable from this machine (${why}); Entra ID connects from the internet on port 443, so check from there too`],
            });
        let about: string | undefined;
        const timer = setTimeout(
            () =>
                about
                    ? done({ url, status: "ok", lines: [about, `GET ${target.pathname}: no HTTP answer within ${timeoutMs / 1000} s`] })
                    : unreachable(`no TLS handshake within ${timeoutMs / 1000} s`),
            timeoutMs,
        );
        socket = connect({
            host: options.connectTo?.host ?? hostname,
            port: options.connectTo?.port ?? port,
            servername: hostname,
            ca: options.extraCa?.length ? [...rootCertificates, ...options.extraCa] : undefined,
            // Decided below from authorizationError and the certificate, to say what is wrong.
            rejectUnauthorized: false,
            ALPNProtocols: ["http/1.1"],
        });
        socket.on("error", (error: NodeJS.ErrnoException) => {
            const why = error.code ?? error.message;
            // After a good handshake the certificate is what matters; the missing answer is a note.
            if (about) done({ url, status: "ok", lines: [about, `GET ${target.pathname}: no HTTP answer (${why})`] });
            else unreachable(why);
        });
        socket.once("secureConnect", () => {
            const s = socket!;
            const cert = s.getPeerCertificate();
            about = `certificate for ${names(cert)}, issued by ${cert.issuer?.CN ?? cert.issuer?.O ?? "?"}, valid ${day(cert.valid_from)} to ${day(cert.valid_to)}`;
            // The chain's verdict first (self-signed, expired, unknown issuer), then the name, which Node
            // checks only when the chain is good: both are said when both are wrong.
            const problems: NonNullable<EndpointProbe["certificate"]>[] = [];
            if (s.authorizationError) problems.push(certificateProblem(String(s.authorizationError))!);
            if (!problems.includes("for another name") && checkServerIdentity(hostname, cert)) problems.push("for another name");
            if (problems.length) {
                const why = problems
                    .map((p) =>
                        p === "for another name"
                            ? `issued for ${names(cert)}, not ${hostname}`
                            : p === "not publicly trusted"
                              ? `not signed by a publicly trusted CA (${s.authorizationError})`
                              : p,
                    )
                    .join("; ");
                done({
                    url,
                    status: "problem",
                    certificate: problems[0],
                    lines: [
                        `${url}: the certificate is ${why}: Entra ID will not provision to it (Posit: a publicly trusted CA-signed certificate is required, self-signed certificates are not supported for SCIM)`,
                        about!,
                    ],
                });
                return;
            }
            // A trusted certificate for the name: ask without a token what answers there (401 from Workbench).
            s.setEncoding("latin1");
            let head = "";
            s.on("data", (chunk: string) => {
                head += chunk;
                const line = head.split("\r\n")[0];
                if (head.includes("\r\n"))
                    done({ url, status: "ok", lines: [about!, `GET ${target.pathname} without a token: ${line.replace(/^HTTP\/\S+\s*/, "HTTP ")}`] });
            });
            s.on("end", () => done({ url, status: "ok", lines: [about!, `GET ${target.pathname}: the connection closed without an answer`] }));
            s.write(`GET ${target.pathname} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: application/scim+json\r\nConnection: close\r\n\r\n`);
        });
    });
}
