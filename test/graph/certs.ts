// Throwaway certificates made with the openssl command line in a temporary directory: a CA and server
// certificates it signs. makeCertificates covers the names the azuread provider calls (login.microsoftonline.com,
// graph.microsoft.com): the provider trusts the CA through SSL_CERT_FILE (Go reads it on Linux instead of the
// system's bundle), so the machine's own trust store is never touched. test/scim/certs.ts builds on the same parts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
    key: string;
    cert: string;
}

export interface TestCertificates extends KeyPair {
    dir: string;
    /** PEM of the CA: what SSL_CERT_FILE names. */
    caFile: string;
}

/** Runs openssl in `dir`, its own output discarded (errors kept for the exception). */
export const opensslIn =
    (dir: string) =>
    (...args: string[]) =>
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

/** The extensions of a TLS server certificate for `subjectAltName` ("DNS:a,DNS:b", "IP:127.0.0.1"). */
export const serverExtensions = (subjectAltName: string) =>
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${subjectAltName}\n`;

/** A CA in `dir` (ca.key, ca.pem), valid two days. */
export function makeCa(dir: string, commonName: string): void {
    opensslIn(dir)(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
}

/** A server certificate signed by the CA in `dir` (makeCa), valid two days: `<file>.key`, `<file>.pem`. */
export function signServerCertificate(dir: string, file: string, commonName: string, subjectAltName: string): KeyPair {
    const openssl = opensslIn(dir);
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${file}.key`, "-out", `${file}.csr`, "-subj", `/CN=${commonName}`);
    writeFileSync(join(dir, `${file}.ext`), serverExtensions(subjectAltName));
    openssl(
        "x509",
        "-req",
        "-in",
        `${file}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${file}.pem`,
        "-days",
        "2",
        "-extfile",
        `${file}.ext`,
    );
    return { key: readFileSync(join(dir, `${file}.key`), "utf8"), cert: readFileSync(join(dir, `${file}.pem`), "utf8") };
}

export function makeCertificates(names: string[]): TestCertificates {
    const dir = mkdtempSync(join(tmpdir(), "wb-graph-tls-"));
    makeCa(dir, "posit-workbench-entra test CA");
    const server = signServerCertificate(dir, "server", names[0], names.map((n) => `DNS:${n}`).join(","));
    return { dir, caFile: join(dir, "ca.pem"), ...server };
}
