/**
 * The real Pulumi engine against sandbox hosts, in host-only mode (Entra values from config): a new
 * stack's first preview (with the policy pack), up, a preview and an up with nothing to change, a
 * refresh, a setting change, a secret change, an up Workbench refuses, a move to another host,
 * destroy. After each, the plain state export, the engine's output and event stream and the sandboxes' logs are
 * scanned for the client secrets, the SCIM token and the SSH private key.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConfigMap, EngineEvent, OutputMap } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workbenchDecrypt } from "../sandbox/rskey";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls } from "../host/driver";
import { getent, passwdLine, serve } from "../host/outcome";
import { engineUnavailable, EngineStack, newStack } from "./engine";
import { hostConfig, NS, SCRIPT_RESOURCES_PER_NODE, secretsIn, sshConnections, stepName, STEPS_PER_NODE, TENANT_ID, CLIENT_ID } from "./stacks";

const SECRET_1 = "E2e~first-client-secret-0123456789abcdef";
const SECRET_2 = "E2e~second-client-secret-fedcba9876543210";

function stackConfig(sb: Sandbox, clientSecret: string, usernameClaim = "preferred_username"): ConfigMap {
    return {
        ...hostConfig([sb], clientSecret),
        [`${NS}:provisioning`]: { value: "scim" },
        [`${NS}:usernameClaim`]: { value: usernameClaim },
        // Groups and the settings admins set: in the first preview one line each, then on the host.
        [`${NS}:groupStartGid`]: { value: "2000" },
        [`${NS}:adminGroups`]: { value: JSON.stringify(["wb-admins"]) },
        [`${NS}:openidScopes`]: { value: JSON.stringify(["openid", "profile", "email", "offline_access"]) },
        [`${NS}:extraSettings`]: { value: JSON.stringify({ "auth-timeout-minutes": 60, "auth-stay-signed-in-days": 14 }) },
    };
}

/** The rserver.conf lines the groups and settings keys of `stackConfig` add. */
const GROUP_AND_EXTRA_LINES = [
    "group-provisioning-start-gid=2000",
    "admin-enabled=1",
    "admin-group=wb-admins",
    "auth-openid-scopes=openid profile email offline_access",
    "auth-stay-signed-in-days=14",
    "auth-timeout-minutes=60",
];

const WB_USER = { name: "wbuser", uid: 20001, gid: 20001, home: "/home/wbuser" };
const sudoLines = async (sb: Sandbox) => (await sb.readFile("/var/log/sudo.log")).split("\n").filter((l) => l.includes("COMMAND=")).length;
const decryptedSecret = async (sb: Sandbox) =>
    workbenchDecrypt(
        /client-secret=(.*)/.exec(await sb.readFile("/etc/rstudio/openid-client-secret"))![1],
        await sb.readFile("/var/lib/rstudio-server/secure-cookie-key"),
    );

describe("the real engine", async () => {
    describe.skipIf(await engineUnavailable())("end to end", lifecycle);
});

function lifecycle() {
    let a: Sandbox;
    let b: Sandbox;
    let e: EngineStack;
    let beforeA: Record<string, string>;
    let beforeB: Record<string, string>;
    let token = "";
    const engineOutput: string[] = [];
    const engineEvents: string[] = [];
    /**
     * The engine's printed output and its event stream. The stream also carries the SDK's debug
     * diagnostics, with or without --debug, and those print secret outputs in clear (the known
     * exception, see the README's "Secrets and what prints them"): every other event is scanned.
     */
    const watch = {
        onOutput: (o: string) => engineOutput.push(o),
        onEvent: (event: EngineEvent) => {
            // The SDK's typings leave "debug" out of the severities; the stream has it.
            if ((event.diagnosticEvent?.severity as string | undefined) !== "debug") engineEvents.push(JSON.stringify(event));
        },
    };

    /** Scans the plain state export, the engine's output and both sandboxes' logs for secrets. */
    async function expectNoSecretsLeaked(stage: string, { stateHasSecrets = true } = {}) {
        const sources: Record<string, string> = {
            "state export": await e.exportPlain(),
            "engine output": engineOutput.join("\n"),
            "engine events": engineEvents.join("\n"),
        };
        for (const [name, sb] of [
            ["a", a],
            ["b", b],
        ] as const) {
            sources[`sandbox ${name} logs`] =
                (await sb.exec("cat /var/log/sudo.log /var/log/standin/*.log 2>/dev/null")).stdout + (await readFile(join(sb.dir, "sshd.log"), "utf8"));
        }
        expect(engineEvents.length, "events received").toBeGreaterThan(0);
        // Secrets are in the state only encrypted; none before the first up and after destroy.
        expect(sources["state export"].includes("ciphertext"), `ciphertext in the state after ${stage}`).toBe(stateHasSecrets);
        const secrets = { "client secret 1": SECRET_1, "client secret 2": SECRET_2, ...(token ? { "SCIM token": token } : {}) };
        expect(secretsIn(sources, secrets, [a, b]), `after ${stage}`).toEqual([]);
    }

    beforeAll(async () => {
        [a, b] = await Promise.all([startSandbox(), startSandbox()]);
        // A user Workbench's NSS module serves (the sandboxes' module is a real one, test/sandbox/nss).
        for (const sb of [a, b]) await serve(sb, "pwb", [WB_USER], [{ name: WB_USER.name, gid: WB_USER.gid }]);
        beforeA = await fingerprints(a, MANAGED_FILES);
        beforeB = await fingerprints(b, MANAGED_FILES);
        e = await newStack(`e2e${process.pid}`);
        await e.stack.setAllConfig(stackConfig(a, SECRET_1));
    });
    afterAll(async () => {
        await Promise.all([a?.stop(), b?.stop()]);
    });

    it("shows a new stack's every host command in its first preview, passes the policy pack, and runs nothing", async () => {
        const connections = await sshConnections(a);
        const preview = await e.stack.preview({ diff: true, policyPacks: ["policy"], ...watch });
        expect(preview.changeSummary.create).toBe(2 + STEPS_PER_NODE + 2 + SCRIPT_RESOURCES_PER_NODE);
        const text = preview.stdout;
        for (const step of ["preflight", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "restart"]) {
            expect(text).toContain(stepName(a, step));
        }
        // What a reviewer must see before anything runs as root, one value a line (the engine cuts
        // long strings): every rserver.conf line, the client id, the PAM, NSS and NSCD changes.
        for (const line of [
            "auth-openid=1",
            `auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
            "auth-openid-username-claim=preferred_username",
            "user-provisioning-enabled=1",
            ...GROUP_AND_EXTRA_LINES,
        ]) {
            expect(text).toMatch(new RegExp(`\\[\\d+\\]: "${line.replace(/[.]/g, "\\.")}"`));
        }
        expect(text).toContain(`WB_CLIENT_ID: "${CLIENT_ID}"`);
        expect(text).toContain("pam_mkhomedir in /etc/pam.d/common-session");
        expect(text).toContain("Adds Workbench's `pwb` NSS module to the passwd, group and shadow databases");
        expect(text).toContain("Turns off NSCD's passwd and group caches");
        // The commands are known too; only stdin, which carries what the preflights find, is not yet.
        expect(text).not.toMatch(/(create|delete)\s*:\s*\[unknown\]/);
        expect(text).toMatch(/workbench-entra-guardrails\|local\|policy\s+0\.1\.0/);
        expect(await sshConnections(a)).toBe(connections);
        await expectNoSecretsLeaked("the first preview", { stateHasSecrets: false });
    });

    it("configures the host on up: 10 SSH connections (the scripts, 9 steps), one restart, the secret decrypts", async () => {
        const connections = await sshConnections(a);
        const up = await e.stack.up(watch);
        expect(up.summary.result).toBe("succeeded");
        expect((await sshConnections(a)) - connections).toBe(1 + STEPS_PER_NODE + 2);
        const outputs: OutputMap = up.outputs;
        expect(outputs.clientId.value).toBe(CLIENT_ID);
        expect(outputs.issuer.value).toBe(`https://login.microsoftonline.com/${TENANT_ID}/v2.0`);
        expect(outputs.scimToken.secret).toBe(true);
        token = outputs.scimToken.value;
        expect(token.length).toBeGreaterThanOrEqual(16);
        expect(await decryptedSecret(a)).toBe(SECRET_1);
        const conf = await a.readFile("/etc/rstudio/rserver.conf");
        expect(conf).toContain(`auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`);
        for (const line of GROUP_AND_EXTRA_LINES) expect(conf.split("\n"), line).toContain(line);
        expect(countSequence(await systemctlCalls(a), RESTART_SEQUENCE)).toBe(1);
        expect((await a.exec("rstudio-server user-service list-tokens")).stdout).toContain("pulumi e2e");
        // The outcome, through the host's glibc: the provisioned user resolves.
        expect((await getent(a, "passwd", WB_USER.name)).line).toBe(passwdLine(WB_USER));
        await expectNoSecretsLeaked("up");
    });

    it("previews nothing to change after up", async () => {
        const preview = await e.stack.preview({ policyPacks: ["policy"], ...watch });
        expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);
    });

    it("changes nothing and runs nothing on a second up", async () => {
        const connections = await sshConnections(a);
        const sudo = await sudoLines(a);
        const files = await fingerprints(a, MANAGED_FILES);
        const up = await e.stack.up(watch);
        expect(Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
        expect(await sshConnections(a)).toBe(connections);
        expect(await sudoLines(a)).toBe(sudo);
        expect(await fingerprints(a, MANAGED_FILES)).toEqual(files);
        await expectNoSecretsLeaked("no-op up");
    });

    it("keeps the secrets out of the state after a refresh", async () => {
        const refresh = await e.stack.refresh(watch);
        expect(refresh.summary.result).toBe("succeeded");
        await expectNoSecretsLeaked("refresh");
    });

    it("runs only rserver.conf and one restart when a setting changes (2 SSH connections)", async () => {
        await a.exec(": > /var/log/standin/systemctl.log");
        await e.stack.setAllConfig(stackConfig(a, SECRET_1, "email"));
        const secretBefore = await fingerprints(a, ["/etc/rstudio/openid-client-secret"]);
        const connections = await sshConnections(a);
        const up = await e.stack.up(watch);
        // rserver-conf, restart, and the cluster component whose inputs list the reviewed values.
        expect(up.summary.resourceChanges).toMatchObject({ update: 3 });
        expect((await sshConnections(a)) - connections).toBe(2);
        expect(up.stdout).toContain(stepName(a, "rserver-conf"));
        expect(await a.readFile("/etc/rstudio/rserver.conf")).toMatch(/^auth-openid-username-claim=email$/m);
        expect(countSequence(await systemctlCalls(a), RESTART_SEQUENCE)).toBe(1);
        expect(await fingerprints(a, ["/etc/rstudio/openid-client-secret"])).toEqual(secretBefore);
        await expectNoSecretsLeaked("setting change");
    });

    it("re-encrypts, rewrites the secret file and restarts once when the client secret changes", async () => {
        await a.exec(": > /var/log/standin/systemctl.log");
        await e.stack.setAllConfig(stackConfig(a, SECRET_2, "email"));
        const up = await e.stack.up(watch);
        expect(up.summary.resourceChanges).toMatchObject({ update: 3 });
        expect(await decryptedSecret(a)).toBe(SECRET_2);
        expect(countSequence(await systemctlCalls(a), RESTART_SEQUENCE)).toBe(1);
        await expectNoSecretsLeaked("secret change");
    });

    it("fails plainly when Workbench refuses the configuration, keeps it running and leaks nothing", async () => {
        const files = await fingerprints(a, MANAGED_FILES);
        await a.exec("touch /etc/rstudio/.standin-refuse-start");
        await e.stack.setAllConfig(stackConfig(a, SECRET_2, "upn"));
        const failed = await e.stack.up(watch).then(
            () => undefined,
            (err: Error) => err,
        );
        expect(failed?.message).toMatch(/test-config rejected the new rserver.conf/);
        expect(await fingerprints(a, MANAGED_FILES)).toEqual(files);
        expect((await a.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
        await expectNoSecretsLeaked("a failed up");
        await a.exec("rm /etc/rstudio/.standin-refuse-start");
        await e.stack.setAllConfig(stackConfig(a, SECRET_2, "email"));
        expect((await e.stack.up(watch)).summary.result).toBe("succeeded");
    });

    it("moves to another host: the new one is configured, the old one restored", async () => {
        await e.stack.setAllConfig(stackConfig(b, SECRET_2, "email"));
        const up = await e.stack.up(watch);
        expect(up.summary.result).toBe("succeeded");
        // The node's steps are named after its address: new ones are created, the old ones deleted;
        // the two steps that run once follow the first node (replaced).
        expect(up.summary.resourceChanges).toMatchObject({
            create: STEPS_PER_NODE + SCRIPT_RESOURCES_PER_NODE,
            delete: STEPS_PER_NODE + SCRIPT_RESOURCES_PER_NODE,
            replace: 2,
        });
        expect(await fingerprints(a, MANAGED_FILES)).toEqual(beforeA);
        expect((await getent(a, "passwd", WB_USER.name)).code).toBe(2);
        expect((await getent(b, "passwd", WB_USER.name)).line).toBe(passwdLine(WB_USER));
        expect((await a.exec("rstudio-server user-service list-tokens")).stdout).not.toContain("pulumi e2e");
        expect(await decryptedSecret(b)).toBe(SECRET_2);
        expect(await b.readFile("/etc/rstudio/rserver.conf")).toMatch(/^auth-openid-username-claim=email$/m);
        expect((await b.exec("rstudio-server user-service list-tokens")).stdout).toContain("pulumi e2e");
        token = up.outputs.scimToken.value;
        await expectNoSecretsLeaked("move");
    });

    it("restores the host and revokes the token on destroy", async () => {
        const result = await e.stack.destroy(watch);
        expect(result.summary.result).toBe("succeeded");
        expect(await fingerprints(b, MANAGED_FILES)).toEqual(beforeB);
        expect((await getent(b, "passwd", WB_USER.name)).code).toBe(2);
        expect((await b.exec("rstudio-server user-service list-tokens")).stdout).not.toContain("pulumi e2e");
        expect((await b.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
        await expectNoSecretsLeaked("destroy", { stateHasSecrets: false });
    });
}
