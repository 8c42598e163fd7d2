/**
 * The `check` action of every host step, over real SSH (the same code `npm run check` runs, without the
 * engine): on a fresh host it shows the whole change `apply` then makes, writing nothing; after `apply`
 * every step is in sync. Debian and Rocky Linux 9 (authselect).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, WorkbenchConfig } from "../../config";
import { checkStack, StateStep } from "../../check/run";
import { stepCommands, stepResourceName } from "../../components/workbenchCluster";
import { nodeOwner, stepEnv, stepStdin } from "../../host/plan";
import { rserverSettings } from "../../host/settings";
import { CheckReport } from "../../check/report";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, CLIENT_ID, CLIENT_SECRET, fingerprints, hostTree, hostValues, MANAGED_FILES, resultOf, systemctlCalls, TENANT_ID } from "./driver";

const AUTHSELECT_FILES = ["/etc/authselect/authselect.conf", "/etc/pam.d/system-auth", "/etc/pam.d/password-auth"];

function stackConfig(sb: Sandbox, extra: Record<string, unknown> = {}): WorkbenchConfig {
    return parseConfig(
        {
            ...extra,
            hostname: "workbench.example.com",
            entraMode: "external",
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            provisioning: "scim",
            // As the driver's apply made it.
            scimTokenDays: 30,
            host: { address: sb.host, port: sb.port, user: sb.user, hostKey: sb.hostPublicKey },
        },
        "hosttest",
        { sshPrivateKey: true, clientSecret: true },
    );
}

/**
 * Checks the host as `npm run check` does. After apply, the state holds what the encryption got and
 * printed (the secret beside the key's hash and the preflight's id, the encrypted value).
 */
async function check(
    sb: Sandbox,
    encrypted?: string,
    extra: Record<string, unknown> = {},
    withState: (state: Map<string, StateStep>, config: WorkbenchConfig, keyHash: string) => void = () => {},
): Promise<CheckReport> {
    const config = stackConfig(sb, extra);
    const keyHash = (await sb.exec("sha256sum /var/lib/rstudio-server/secure-cookie-key")).stdout.split(" ")[0];
    const preflight = stepResourceName("workbench", { node: 0, id: "preflight", after: [] }, config.hosts[0]);
    const state = new Map<string, StateStep>(
        encrypted
            ? [
                  [preflight, { urn: "urn:preflight", id: "preflight-1" }],
                  [
                      "workbench-encrypt-client-secret",
                      { urn: "urn:encrypt", stdin: stepStdin("encrypt-client-secret", keyHash, "preflight-1", `${CLIENT_SECRET}\n`), stdout: encrypted },
                  ],
              ]
            : [],
    );
    withState(state, config, keyHash);
    return checkStack({
        stack: "hosttest",
        config,
        sshPrivateKey: sb.privateKey,
        clientSecret: CLIENT_SECRET,
        clientId: CLIENT_ID,
        tenantId: TENANT_ID,
        state,
    });
}

/** The paths whose line (size, mtime, mode, owner) differs between two `hostTree`s, or that one of them lacks. */
function changedPaths(before: string[], after: string[]): string[] {
    const a = new Set(before);
    const b = new Set(after);
    return [...new Set([...before.filter((l) => !b.has(l)), ...after.filter((l) => !a.has(l))].map((l) => l.split(" ")[0]))].sort();
}

/** The file a unified diff leads to from `original` (patch(1) on this machine). */
async function patched(original: string, diff: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "wb-check-"));
    await writeFile(join(dir, "original"), original);
    const child = promisify(execFile)("patch", ["-s", "-o", join(dir, "after"), join(dir, "original")]);
    child.child.stdin!.end(diff);
    await child;
    return readFile(join(dir, "after"), "utf8");
}

describe.concurrent.each(["debian", "rocky9"] as const)("check on a %s host", (os) => {
    let sb: Sandbox;
    let encrypted = "";
    const files = os === "debian" ? MANAGED_FILES : [...MANAGED_FILES, ...AUTHSELECT_FILES];
    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os });
    });
    afterAll(() => sb?.stop());

    it("on a fresh host: every change apply makes, as diffs, and nothing written", { concurrent: false }, async () => {
        const before = await fingerprints(sb, files);
        const tree = await hostTree(sb);
        const originals = Object.fromEntries(
            await Promise.all(
                ["/etc/rstudio/rserver.conf", "/etc/nscd.conf", "/etc/nsswitch.conf", "/etc/pam.d/common-session"].map(
                    async (f) => [f, await sb.readFile(f)] as const,
                ),
            ),
        );
        const changes = async () => (await systemctlCalls(sb)).filter((c) => !/^(is-active|is-enabled|list-unit-files|status) /.test(c));
        const services = await changes();
        const report = await check(sb);

        expect(report.nodes.map((n) => n.error)).toEqual([undefined]);
        const status = Object.fromEntries(report.nodes[0].steps.map((s) => [s.step, s.status]));
        expect(status).toEqual({
            preflight: "in sync",
            "encrypt-client-secret": "would change",
            "client-secret": "would change",
            "rserver-conf": "would change",
            "home-directories": "would change",
            nss: "would change",
            nscd: "would change",
            restart: "in sync",
            "scim-token": "would change",
        });
        // Nothing written: the managed files, no state directory, no lock file; no service started or stopped.
        expect(await changes()).toEqual(services);
        expect(await fingerprints(sb, files)).toEqual(before);
        expect((await sb.exec("ls -d /var/lib/posit-workbench-entra /run/posit-workbench-entra.lock 2>&1")).stdout).not.toMatch(/^\/(var|run)/m);
        expect(changedPaths(tree, await hostTree(sb))).toEqual([]);

        // The diffs are what apply then writes.
        const diffOf = (step: string) => report.nodes[0].steps.find((s) => s.step === step)!.diff;
        encrypted = resultOf(await applyAll(sb, hostValues({ provisioning: "scim" })), "encrypt-client-secret")!.stdout;
        expect(await patched(originals["/etc/rstudio/rserver.conf"], diffOf("rserver-conf"))).toBe(await sb.readFile("/etc/rstudio/rserver.conf"));
        expect(await patched(originals["/etc/nscd.conf"], diffOf("nscd"))).toBe(await sb.readFile("/etc/nscd.conf"));
        if (os === "debian") {
            expect(await patched(originals["/etc/nsswitch.conf"], diffOf("nss"))).toBe(await sb.readFile("/etc/nsswitch.conf"));
            expect(await patched(originals["/etc/pam.d/common-session"], diffOf("home-directories"))).toBe(await sb.readFile("/etc/pam.d/common-session"));
        } else {
            // authselect generates nsswitch.conf from custom/pwb (on 1.2 a map from user-nsswitch.conf may
            // move within the file): the lookups the diff shows are the ones then in force.
            const lookups = (text: string) =>
                ["passwd", "group", "shadow"].map((db) =>
                    text
                        .split("\n")
                        .find((l) => l.startsWith(`${db}:`))
                        ?.split(/\s+/)
                        .slice(1)
                        .join(" "),
                );
            expect(lookups(await patched(originals["/etc/nsswitch.conf"], diffOf("nss")))).toEqual(lookups(await sb.readFile("/etc/nsswitch.conf")));
            expect(report.nodes[0].steps.find((s) => s.step === "home-directories")!.notes).toEqual(
                expect.arrayContaining([
                    "oddjob-mkhomedir would be installed",
                    "oddjobd would be enabled and started",
                    "authselect's feature with-mkhomedir would be turned on",
                ]),
            );
        }
        // The secrets never: neither the client secret nor its encrypted form.
        const text = JSON.stringify(report);
        expect(text).not.toContain(CLIENT_SECRET);
        expect(text).not.toContain((await sb.readFile("/etc/rstudio/openid-client-secret")).split("client-secret=")[1].trim());
    });

    it("after apply: every step in sync, the verifications pass, the token listed with its expiry, nothing written", { concurrent: false }, async () => {
        const tree = await hostTree(sb);
        const report = await check(sb, encrypted);
        expect(changedPaths(tree, await hostTree(sb))).toEqual([]);
        const steps = report.nodes[0].steps;
        expect(steps.filter((s) => s.status !== "in sync").map((s) => `${s.step}: ${s.notes.join("; ")}${s.diff}`)).toEqual([]);
        expect(steps.flatMap((s) => s.problems)).toEqual([]);
        const restart = steps.find((s) => s.step === "restart")!;
        expect(restart.notes).toContain(`Workbench answers http://127.0.0.1:${sb.workbenchPort}/health-check`);
        // No network here but loopback: the issuer is unreachable, a warning, within its 5 s.
        expect(restart.warnings).toEqual([
            expect.stringMatching(
                /^the issuer's discovery document https:\/\/login\.microsoftonline\.com\/.*\/v2\.0\/\.well-known\/openid-configuration is not reachable from this host within 5 s/,
            ),
        ]);
        expect(steps.find((s) => s.step === "scim-token")!.notes).toEqual([
            expect.stringMatching(
                /^the SCIM token "Entra ID User Provisioning Token \(pulumi hosttest\)" is listed; it expires on \d{4}-\d\d-\d\d, in 30 days \(made on \d{4}-\d\d-\d\dT[\d:]+Z for 30 days\)$/,
            ),
        ]);
        expect(steps.find((s) => s.step === "client-secret")!.notes).toEqual([]);
    });
});

describe("check on a host with group, admin, scope and extra settings", () => {
    // As the stack file has them, and as the program passes them on (extraSettings' values as rserver.conf spells them).
    const raw = {
        groupStartGid: 20000,
        adminGroups: ["workbench-admins"],
        openidScopes: ["openid", "profile", "email", "offline_access"],
        extraSettings: { "auth-timeout-minutes": 60, "www-frame-origin": "none" },
    };
    const rserver = { ...raw, extraSettings: { "auth-timeout-minutes": "60", "www-frame-origin": "none" } };
    let sb: Sandbox;
    let encrypted = "";
    /** The rserver-conf resource as the state holds it after the apply, so a difference on the host is drift. */
    const rserverConfInState = (state: Map<string, StateStep>, config: WorkbenchConfig, keyHash: string) => {
        const step = { node: 0, id: "rserver-conf" as const, after: [] };
        const env = stepEnv(
            "rserver-conf",
            { clientId: CLIENT_ID, stack: "hosttest", settings: rserverSettings(config, TENANT_ID), scimTokenDays: 30 },
            nodeOwner("hosttest", config.hosts[0]),
        );
        state.set(stepResourceName("workbench", step, config.hosts[0]), {
            urn: "urn:rserver-conf",
            create: stepCommands("rserver-conf", env as typeof env & { WB_STACK: string }).create,
            stdin: stepStdin("rserver-conf", keyHash, "preflight-1"),
        });
    };
    beforeAll(async () => {
        sb = await startSandbox();
        encrypted = resultOf(await applyAll(sb, hostValues({ provisioning: "scim", rserver })), "encrypt-client-secret")!.stdout;
    });
    afterAll(() => sb?.stop());

    it("is in sync after apply, and reports a hand-changed extra setting as drift, with its diff and the repair", async () => {
        const rserverConf = (report: CheckReport) => report.nodes[0].steps.find((s) => s.step === "rserver-conf")!;
        const synced = await check(sb, encrypted, raw, rserverConfInState);
        expect(rserverConf(synced).status, rserverConf(synced).diff).toBe("in sync");

        await sb.exec("sed -i 's/^auth-timeout-minutes=60$/auth-timeout-minutes=5/' /etc/rstudio/rserver.conf");
        const report = await check(sb, encrypted, raw, rserverConfInState);
        const step = rserverConf(report);
        expect(step.status).toBe("drifted");
        expect(step.notes).toContain("/etc/rstudio/rserver.conf was changed on the host after this stack last wrote it");
        expect(step.diff.split("\n").filter((l) => /^[-+][^-+]/.test(l))).toEqual(["-auth-timeout-minutes=5", "+auth-timeout-minutes=60"]);
        expect(report.repair).toContain("urn:rserver-conf");
        // The other steps are untouched.
        expect(report.nodes[0].steps.filter((s) => s.step !== "rserver-conf" && s.status === "drifted")).toEqual([]);
    });
});
