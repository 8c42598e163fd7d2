/**
 * The real Pulumi engine against sandbox hosts, in host-only mode (Entra values from config):
 * preview, up, no-op up, a setting change, a secret change, a move to another host, destroy.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConfigMap, OutputMap } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workbenchDecrypt } from "../sandbox/rskey";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls } from "../host/driver";
import { engine, EngineStack, newStack } from "./engine";

const NS = "posit-workbench-entra";
const TENANT_ID = "11111111-2222-3333-4444-555555555555";
const CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SECRET_1 = "E2e~first-client-secret-0123456789abcdef";
const SECRET_2 = "E2e~second-client-secret-fedcba9876543210";

function stackConfig(sb: Sandbox, clientSecret: string, usernameClaim = "preferred_username"): ConfigMap {
    return {
        [`${NS}:hostname`]: { value: "workbench.e2e.test" },
        [`${NS}:provisioning`]: { value: "scim" },
        [`${NS}:entraMode`]: { value: "external" },
        [`${NS}:tenantId`]: { value: TENANT_ID },
        [`${NS}:clientId`]: { value: CLIENT_ID },
        [`${NS}:clientSecret`]: { value: clientSecret, secret: true },
        [`${NS}:usernameClaim`]: { value: usernameClaim },
        [`${NS}:host`]: { value: JSON.stringify({ address: sb.host, port: sb.port, user: sb.user, hostKey: sb.hostPublicKey }) },
        [`${NS}:sshPrivateKey`]: { value: sb.privateKey, secret: true },
    };
}

/** Distinctive parts of the secrets that must never appear in clear. */
function secretsOf(sandboxes: Sandbox[], token?: string): Record<string, string> {
    const out: Record<string, string> = { "client secret 1": SECRET_1, "client secret 2": SECRET_2 };
    for (const [i, sb] of sandboxes.entries()) out[`SSH private key ${i}`] = sb.privateKey.split("\n")[2];
    if (token) out["SCIM token"] = token;
    return out;
}

const sshConnections = async (sb: Sandbox) => ((await readFile(join(sb.dir, "sshd.log"), "utf8")).match(/Accepted publickey/g) ?? []).length;
const sudoLines = async (sb: Sandbox) => (await sb.readFile("/var/log/sudo.log")).split("\n").filter((l) => l.includes("COMMAND=")).length;

describe("the real engine", async () => {
    /** Why the engine is not available here (scripts/build-engine.sh names the modules it could not get). */
    const engineProblem = await engine().then(
        () => undefined,
        (e: { stderr?: string; message: string }) => e.stderr || e.message,
    );
    if (engineProblem) console.warn(`end-to-end tests skipped: the Pulumi engine could not be built here:\n${engineProblem}`);
    describe.skipIf(engineProblem !== undefined)("end to end", lifecycle);
});

function lifecycle() {
    let a: Sandbox;
    let b: Sandbox;
    let e: EngineStack;
    let beforeA: Record<string, string>;
    let beforeB: Record<string, string>;
    let token = "";
    const engineOutput: string[] = [];
    const timings: Record<string, number> = {};

    /** Scans the plain state export, the engine's output and both sandboxes' logs for secrets. */
    async function expectNoSecretsLeaked(stage: string) {
        const sources: Record<string, string> = {
            "state export": await e.exportPlain(),
            "engine output": engineOutput.join("\n"),
        };
        for (const [name, sb] of [["a", a], ["b", b]] as const) {
            sources[`sandbox ${name} logs`] = (await sb.exec("cat /var/log/sudo.log /var/log/standin/*.log 2>/dev/null")).stdout + (await readFile(join(sb.dir, "sshd.log"), "utf8"));
        }
        expect(sources["state export"]).toContain("ciphertext"); // secrets are there, encrypted
        for (const [source, text] of Object.entries(sources)) {
            for (const [secret, value] of Object.entries(secretsOf([a, b], token))) {
                expect(text.includes(value), `${secret} in ${source} after ${stage}`).toBe(false);
            }
        }
    }

    const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
        const started = Date.now();
        try {
            return await run();
        } finally {
            timings[what] = Date.now() - started;
        }
    };

    beforeAll(async () => {
        [a, b] = await Promise.all([startSandbox(), startSandbox()]);
        beforeA = await fingerprints(a, MANAGED_FILES);
        beforeB = await fingerprints(b, MANAGED_FILES);
        e = await newStack(`e2e${process.pid}`);
        await e.stack.setAllConfig(stackConfig(a, SECRET_1));
    });
    afterAll(async () => {
        console.log(`engine timings (ms): ${JSON.stringify(timings)}`);
        await Promise.all([a?.stop(), b?.stop()]);
    });

    it("previews the host steps without running anything on the host", async () => {
        const connections = await sshConnections(a);
        const preview = await timed("preview", () => e.stack.preview({ onOutput: (o) => engineOutput.push(o) }));
        expect(preview.changeSummary.create).toBeGreaterThanOrEqual(9);
        for (const step of ["preflight", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "restart", "scim-token"]) {
            expect(preview.stdout).toContain(`workbench-${step}`);
        }
        expect(await sshConnections(a)).toBe(connections);
        await expectNoSecretsLeaked("preview");
    });

    it("configures the host on up", async () => {
        const connections = await sshConnections(a);
        const up = await timed("fresh up", () => e.stack.up({ onOutput: (o) => engineOutput.push(o) }));
        expect(up.summary.result).toBe("succeeded");
        expect(await sshConnections(a) - connections).toBe(8);
        const outputs: OutputMap = up.outputs;
        expect(outputs.clientId.value).toBe(CLIENT_ID);
        expect(outputs.issuer.value).toBe(`https://login.microsoftonline.com/${TENANT_ID}/v2.0`);
        expect(outputs.scimToken.secret).toBe(true);
        token = outputs.scimToken.value;
        expect(token.length).toBeGreaterThanOrEqual(16);
        const secretFile = await a.readFile("/etc/rstudio/openid-client-secret");
        const key = await a.readFile("/var/lib/rstudio-server/secure-cookie-key");
        expect(await workbenchDecrypt(/client-secret=(.*)/.exec(secretFile)![1], key)).toBe(SECRET_1);
        expect(await a.readFile("/etc/rstudio/rserver.conf")).toContain(`auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`);
        expect(countSequence(await systemctlCalls(a), RESTART_SEQUENCE)).toBe(1);
        expect((await a.exec("rstudio-server user-service list-tokens")).stdout).toContain("pulumi e2e");
        await expectNoSecretsLeaked("up");
    });

    it("changes nothing and runs nothing on a second up", async () => {
        const connections = await sshConnections(a);
        const sudo = await sudoLines(a);
        const files = await fingerprints(a, MANAGED_FILES);
        const up = await timed("no-op up", () => e.stack.up({ onOutput: (o) => engineOutput.push(o) }));
        expect(Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
        expect(await sshConnections(a)).toBe(connections);
        expect(await sudoLines(a)).toBe(sudo);
        expect(await fingerprints(a, MANAGED_FILES)).toEqual(files);
        await expectNoSecretsLeaked("no-op up");
    });

    it("runs only rserver.conf and one restart when a setting changes", async () => {
        await a.exec(": > /var/log/standin/systemctl.log");
        await e.stack.setAllConfig(stackConfig(a, SECRET_1, "email"));
        const secretBefore = (await fingerprints(a, ["/etc/rstudio/openid-client-secret"]))["/etc/rstudio/openid-client-secret"];
        const up = await e.stack.up({ onOutput: (o) => engineOutput.push(o) });
        expect(up.summary.resourceChanges).toMatchObject({ update: 2 });
        expect(up.stdout).toMatch(/workbench-rserver-conf/);
        expect(await a.readFile("/etc/rstudio/rserver.conf")).toMatch(/^auth-openid-username-claim=email$/m);
        expect(countSequence(await systemctlCalls(a), RESTART_SEQUENCE)).toBe(1);
        expect((await fingerprints(a, ["/etc/rstudio/openid-client-secret"]))["/etc/rstudio/openid-client-secret"]).toBe(secretBefore);
        await expectNoSecretsLeaked("setting change");
    });

    it("rewrites the secret file and restarts once when the client secret changes", async () => {
        await a.exec(": > /var/log/standin/systemctl.log");
        await e.stack.setAllConfig(stackConfig(a, SECRET_2, "email"));
        const up = await e.stack.up({ onOutput: (o) => engineOutput.push(o) });
        expect(up.summary.resourceChanges).toMatchObject({ update: 2 });
        const secretFile = await a.readFile("/etc/rstudio/openid-client-secret");
        const key = await a.readFile("/var/lib/rstudio-server/secure-cookie-key");
        expect(await workbenchDecrypt(/client-secret=(.*)/.exec(secretFile)![1], key)).toBe(SECRET_2);
        expect(countSequence(await systemctlCalls(a), RESTART_SEQUENCE)).toBe(1);
        await expectNoSecretsLeaked("secret change");
    });

    it("moves to another host: the new one is configured, the old one restored", async () => {
        await e.stack.setAllConfig(stackConfig(b, SECRET_2, "email"));
        const up = await e.stack.up({ onOutput: (o) => engineOutput.push(o) });
        expect(up.summary.result).toBe("succeeded");
        // The node's steps are named after its address: new ones are created, the old ones deleted.
        expect(up.summary.resourceChanges).toMatchObject({ create: 6, delete: 6, replace: 2 });
        expect(await fingerprints(a, MANAGED_FILES)).toEqual(beforeA);
        expect((await a.exec("rstudio-server user-service list-tokens")).stdout).not.toContain("pulumi e2e");
        const secretFile = await b.readFile("/etc/rstudio/openid-client-secret");
        const key = await b.readFile("/var/lib/rstudio-server/secure-cookie-key");
        expect(await workbenchDecrypt(/client-secret=(.*)/.exec(secretFile)![1], key)).toBe(SECRET_2);
        expect(await b.readFile("/etc/rstudio/rserver.conf")).toMatch(/^auth-openid-username-claim=email$/m);
        expect((await b.exec("rstudio-server user-service list-tokens")).stdout).toContain("pulumi e2e");
        token = up.outputs.scimToken.value;
        await expectNoSecretsLeaked("move");
    });

    it("restores the host and revokes the token on destroy", async () => {
        const result = await e.stack.destroy({ onOutput: (o) => engineOutput.push(o) });
        expect(result.summary.result).toBe("succeeded");
        expect(await fingerprints(b, MANAGED_FILES)).toEqual(beforeB);
        expect((await b.exec("rstudio-server user-service list-tokens")).stdout).not.toContain("pulumi e2e");
        expect((await b.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
        await expectNoSecretsLeaked("destroy");
    });
}
