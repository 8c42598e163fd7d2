// Certificates for the SCIM endpoint probe's tests, made with the openssl command line in a temporary
// directory: a throwaway CA, certificates it signs (for the endpoint's name, for another name, expired) and a
// self-signed one. Node is given the CA as trusted only where a test says so (the probe's extraCa option),
// so the machine's trust store is never touched.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyPair, makeCa, opensslIn, serverExtensions, signServerCertificate } from "../graph/certs";

export type { KeyPair };

export interface ProbeCertificates {
    ca: string;
    /** Signed by the CA, for `name`. */
    good: KeyPair;
    /** Signed by the CA, for another name. */
    otherName: KeyPair;
    /** Signed by the CA, for `name`, valid only in 2020. */
    expired: KeyPair;
    /** Self-signed, for `name`. */
    selfSigned: KeyPair;
    /** Self-signed, for another name. */
    selfSignedOther: KeyPair;
    /** Signed by the CA, for the address 127.0.0.1 (the Graph stand-in's URL). */
    loopback: KeyPair;
    cleanup(): void;
}

export function makeProbeCertificates(name: string, other = "other.example.net"): ProbeCertificates {
    const dir = mkdtempSync(join(tmpdir(), "wb-scim-tls-"));
    const openssl = opensslIn(dir);
    const read = (file: string) => readFileSync(join(dir, file), "utf8");
    makeCa(dir, "posit-workbench-entra probe test CA");
    const signed = (file: string, n: string, san = `DNS:${n}`): KeyPair => signServerCertificate(dir, file, n, san);
    const good = signed("good", name);
    const otherName = signed("other", other);
    const loopback = signed("loopback", "127.0.0.1", "IP:127.0.0.1");
    // Expired: `openssl ca` takes start and end dates (OpenSSL 3.0's x509 -req does not).
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "expired.key", "-out", "expired.csr", "-subj", `/CN=${name}`);
    writeFileSync(join(dir, "index.txt"), "");
    writeFileSync(join(dir, "serial"), "1000\n");
    writeFileSync(
        join(dir, "ca.cnf"),
        `[ca]\ndefault_ca=test\n[test]\ndir=.\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\ncertificate=ca.pem\nprivate_key=ca.key\ndefault_md=sha256\npolicy=any\nunique_subject=no\ncopy_extensions=none\n[any]\ncommonName=supplied\n[server]\n${serverExtensions(`DNS:${name}`)}`,
    );
    openssl(
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-extensions",
        "server",
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20200102000000Z",
        "-in",
        "expired.csr",
        "-out",
        "expired.pem",
        "-notext",
    );
    const expired = { key: read("expired.key"), cert: read("expired.pem") };
    const selfSignedFor = (file: string, n: string): KeyPair => {
        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            `${file}.key`,
            "-out",
            `${file}.pem`,
            "-days",
            "2",
            "-subj",
            `/CN=${n}`,
            "-addext",
            `subjectAltName=DNS:${n}`,
        );
        return { key: read(`${file}.key`), cert: read(`${file}.pem`) };
    };
    const selfSigned = selfSignedFor("self", name);
    const selfSignedOther = selfSignedFor("self-other", other);
    return {
        ca: read("ca.pem"),
        good,
        otherName,
        expired,
        selfSigned,
        selfSignedOther,
        loopback,
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
}
