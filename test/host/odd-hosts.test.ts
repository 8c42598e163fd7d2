/**
 * Hosts whose files or services are set up in less common ways, over real SSH against sandbox
 * Debian hosts: an rserver.conf with Windows (CRLF) line endings, and Workbench serving HTTPS itself
 * (ssl-enabled=1).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, countSequence, fingerprints, hostValues, removeAll, RESTART_SEQUENCE, resultOf, systemctlCalls, TENANT_ID } from "./driver";

const CONF = "/etc/rstudio/rserver.conf";
const crlf = (lines: string[]) => lines.map((l) => `${l}\r\n`).join("");
/** The managed block rserver-conf.sh writes for hostValues() (JIT, stack "hosttest"). */
const MANAGED_BLOCK = [
    "# Managed by posit-workbench-entra (Pulumi stack hosttest): change the stack config, not these lines.",
    "auth-openid=1",
    `auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
    "auth-openid-username-claim=preferred_username",
    "user-provisioning-enabled=1",
    "user-provisioning-register-on-first-login=1",
    "auth-pam-sessions-enabled=1",
    "server-health-check-enabled=1",
];

describe("an rserver.conf with CRLF line endings", () => {
    let sb: Sandbox;
    let original: string;
    // An administrator's file from a Windows editor: CRLF everywhere, a blank line ("\r") at the end.
    const lines = (port: number) => ["# Server Configuration File", "", `www-port=${port}`, "launcher-sessions-enabled=1", "auth-timeout-minutes=60", ""];

    beforeAll(async () => {
        sb = await startSandbox();
        original = crlf(lines(sb.workbenchPort));
        await sb.writeFile(CONF, original);
        await sb.exec(": > /var/log/standin/systemctl.log");
    });
    afterAll(() => sb?.stop());

    it("writes the managed block, and the blank line before it, with CRLF too", async () => {
        const run = await applyAll(sb, hostValues());
        expect(resultOf(run, "rserver-conf")?.stdout).toBe("rserver.conf=changed\n");
        // Every line ends in CRLF; the file's blank line at the end ("\r") is not kept before the block.
        expect(await sb.readFile(CONF)).toBe(crlf([...lines(sb.workbenchPort).slice(0, -1), "", ...MANAGED_BLOCK]));
        expect(resultOf(run, "restart")?.stdout).toMatch(/restart=done[\s\S]*health=ok/);
    });

    it("changes nothing on a second run", async () => {
        const written = await sb.readFile(CONF);
        const before = await fingerprints(sb, [CONF]);
        await sb.exec(": > /var/log/standin/systemctl.log");
        const run = await applyAll(sb, hostValues());
        expect(resultOf(run, "rserver-conf")?.stdout).toBe("rserver.conf=unchanged\n");
        expect(await sb.readFile(CONF)).toBe(written);
        expect(await fingerprints(sb, [CONF])).toEqual(before);
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(0);
    });

    it("restores the file byte for byte on destroy", async () => {
        await removeAll(sb, hostValues());
        expect(await sb.readFile(CONF)).toBe(original);
    });

    it("takes out only the managed block, keeping CRLF, when the file was edited since", async () => {
        await applyAll(sb, hostValues());
        // The administrator adds a line in the same editor, after www-port.
        await sb.exec(String.raw`sed -i 's/^www-port=.*\r$/&\nauth-stay-signed-in-days=30\r/' ${CONF}`);
        const edited = await sb.readFile(CONF);
        expect(edited).toContain(`www-port=${sb.workbenchPort}\r\nauth-stay-signed-in-days=30\r\n`);
        const removed = await removeAll(sb, hostValues());
        expect(resultOf(removed, "rserver-conf")?.stdout).toBe("rserver.conf=edited\n");
        const [head, blank, port, ...rest] = lines(sb.workbenchPort);
        // The original lines and the administrator's, each with CRLF; no managed line, no blank line left at the end.
        expect(await sb.readFile(CONF)).toBe(crlf([head, blank, port, "auth-stay-signed-in-days=30", ...rest].slice(0, -1)));
    });
});

describe("a host where Workbench serves HTTPS itself (ssl-enabled=1)", () => {
    let sb: Sandbox;
    let original: string;
    const cert = "/etc/ssl/certs/workbench.pem";
    const key = "/etc/ssl/private/workbench.key";
    const curl = (url: string, options = "") => sb.exec(`curl -sS --max-time 5 ${options} ${url}`);
    const url = (scheme: string) => `${scheme}://127.0.0.1:${sb.workbenchPort}/health-check`;

    beforeAll(async () => {
        sb = await startSandbox();
        // As an administrator sets up TLS before the stack runs: a certificate for the address the
        // health check uses, and the ssl-* options in rserver.conf; then a restart.
        const made = await sb.exec(
            `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout ${key} -out ${cert} 2>&1 && chmod 0600 ${key}`,
        );
        expect(made.code, made.stdout).toBe(0);
        original = [
            "# Server Configuration File",
            `www-port=${sb.workbenchPort}`,
            "ssl-enabled=1",
            `ssl-certificate=${cert}`,
            `ssl-certificate-key=${key}`,
            "",
        ].join("\n");
        await sb.writeFile(CONF, original);
        expect((await sb.exec("systemctl restart rstudio-server")).code).toBe(0);
        await sb.exec(": > /var/log/standin/systemctl.log");
    });
    afterAll(() => sb?.stop());

    it("restarts once and the restart step's health check passes over https", async () => {
        const run = await applyAll(sb, hostValues());
        expect(resultOf(run, "rserver-conf")?.stdout).toBe("rserver.conf=changed\n");
        expect(resultOf(run, "restart")?.stdout).toBe("restart=done\nhealth=ok\n");
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(1);
        // The ssl lines are kept as they were.
        expect(await sb.readFile(CONF)).toContain(`ssl-enabled=1\nssl-certificate=${cert}\nssl-certificate-key=${key}\n`);
    });

    it("serves the health check with the administrator's certificate, and refuses plain http", async () => {
        // Verified against that certificate (no -k): TLS with the configured certificate and key.
        const https = await curl(url("https"), `--cacert ${cert}`);
        expect(https.stderr).toBe("");
        expect(https.stdout).toBe("active-sessions: 0\nidle-seconds: 0\ncpu-percent: 0.0\nmemory-percent: 0.0\nswap-percent: 0.0\nload-average: 0.0\n");
        const http = await curl(url("http"));
        expect(http.code).not.toBe(0);
        expect(http.stdout).not.toContain("active-sessions");
    });

    it("restores rserver.conf byte for byte on destroy", async () => {
        await removeAll(sb, hostValues());
        expect(await sb.readFile(CONF)).toBe(original);
        expect((await sb.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
    });
});
