/**
 * `npm run check` against a stack the real engine deployed: it reads the stack's config, secrets and
 * state through the Automation API and reports every step in sync over one SSH connection; after hand
 * edits and a revoked token it reports each drift with its diff and prints the repair, which (run as
 * printed) converges with at most one restart and keeps the administrator's own lines. Errors name the
 * node. No secret in any output.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, freePort, startSandbox } from "../sandbox/sandbox";
import { countSequence, RESTART_SEQUENCE, systemctlCalls, tokenRows } from "../host/driver";
import { CliRun, engineUnavailable, EngineStack, newStack, runCheck } from "./engine";
import { hostConfig, NS, secretsIn, shareLogin, sshConnections } from "./stacks";

const SECRET = "Chk~check-mode-client-secret-0123456789ab";

interface JsonStep {
    step: string;
    status: string;
    diff: string;
    notes: string[];
    problems: string[];
}

const statuses = (run: CliRun) => Object.fromEntries((JSON.parse(run.stdout).nodes[0].steps as JsonStep[]).map((s) => [s.step, s.status]));

describe("npm run check", async () => {
    describe.skipIf(await engineUnavailable())("through the engine", () => {
        let sb: Sandbox;
        let e: EngineStack;
        const outputs: string[] = [];
        const tokens: string[] = [];
        const keep = (run: CliRun) => (outputs.push(run.stdout, run.stderr), run);

        beforeAll(async () => {
            sb = await startSandbox();
            e = await newStack(`check${process.pid}`);
            await e.stack.setAllConfig({ ...hostConfig([sb], SECRET), [`${NS}:provisioning`]: { value: "scim" } });
            const up = await e.stack.up();
            tokens.push(up.outputs.scimToken.value);
        });
        afterAll(async () => {
            // No secret in any output: text, JSON, progress lines, errors.
            const encrypted = /client-secret=(.*)/.exec(await sb.readFile("/etc/rstudio/openid-client-secret"))![1];
            const secrets = {
                "client secret": SECRET,
                "encrypted client secret": encrypted,
                ...Object.fromEntries(tokens.map((t, i) => [`SCIM token ${i}`, t])),
            };
            expect(secretsIn({ "check output": outputs.join("\n") }, secrets, [sb])).toEqual([]);
            await sb?.stop();
        });

        it("reports a stack the engine just deployed in sync, over one SSH connection, exit 0", async () => {
            const connections = await sshConnections(sb);
            const run = keep(await runCheck(e, ["--stack", e.stack.name, "--json"]));
            expect(run.code).toBe(0);
            expect(new Set(Object.values(statuses(run)))).toEqual(new Set(["in sync"]));
            expect(Object.keys(statuses(run))).toHaveLength(9);
            expect(await sshConnections(sb)).toBe(connections + 1);
            expect(run.stderr).toContain(`check: node1 (${sb.host}:${sb.port}): checked 9 steps in`);
            // SCIM: the endpoint as Entra ID sees it (this stack's name does not resolve: a warning), no job read (external app).
            expect(JSON.parse(run.stdout).sections).toEqual([
                { name: "entra", status: "ok", lines: ["entraMode external: the app's owners run its provisioning job (not read)"] },
                {
                    name: "scim-endpoint",
                    status: "warning",
                    lines: [expect.stringMatching(/^https:\/\/workbench\.e2e\.test\/scim\/v2 is not reachable from this machine \((ENOTFOUND|EAI_AGAIN)\)/)],
                },
            ]);

            const text = keep(await runCheck(e, ["--stack", e.stack.name]));
            expect(text.code).toBe(0);
            expect(text.stdout).toMatch(new RegExp(`^${e.stack.name}: 1 node, 9 steps: 9 in sync, 0 would change, 0 drifted, 0 problems, 1 warning$`, "m"));
        });

        it("reports hand edits and a revoked token as drift, each with its diff, and prints the repair; the repair, run as printed, converges", async () => {
            await sb.exec(
                [
                    // An administrator's own line, and a managed value changed by hand.
                    "printf '# admin: keep sessions short\\nauth-timeout-minutes=30\\n' >> /etc/rstudio/rserver.conf",
                    "sed -i 's/^auth-openid-username-claim=.*/auth-openid-username-claim=email/' /etc/rstudio/rserver.conf",
                    // pam-auth-update --force drops the mkhomedir line; a package upgrade rewrites nsswitch.conf and nscd.conf.
                    "sed -i '/pam_mkhomedir/d' /etc/pam.d/common-session",
                    "sed -i 's/ pwb//' /etc/nsswitch.conf",
                    "sed -i 's/^\\(\\s*enable-cache\\s\\+passwd\\s\\+\\)no/\\1yes/' /etc/nscd.conf",
                    `rstudio-server user-service revoke-token "Entra ID User Provisioning Token (pulumi ${e.stack.name})"`,
                ].join(" && "),
            );
            const run = keep(await runCheck(e, ["--stack", e.stack.name, "--json"]));
            expect(run.code).toBe(2);
            expect(statuses(run)).toEqual({
                preflight: "in sync",
                "encrypt-client-secret": "in sync",
                "client-secret": "in sync",
                "rserver-conf": "drifted",
                "home-directories": "drifted",
                nss: "drifted",
                nscd: "drifted",
                restart: "in sync",
                "scim-token": "drifted",
            });
            const steps = JSON.parse(run.stdout).nodes[0].steps as JsonStep[];
            const diff = (id: string) => steps.find((s) => s.step === id)!.diff;
            expect(diff("rserver-conf")).toContain("-auth-openid-username-claim=email");
            expect(diff("rserver-conf")).toContain("+auth-openid-username-claim=preferred_username");
            expect(diff("home-directories")).toContain("+session required pam_mkhomedir.so");
            expect(diff("nss")).toMatch(/^\+passwd:.*pwb/m);
            expect(diff("nscd")).toMatch(/^\+\s*enable-cache\s+passwd\s+no$/m);
            expect(steps.find((s) => s.step === "scim-token")!.notes[0]).toMatch(/is not listed in Workbench \(revoked, or never made\)/);

            const text = keep(await runCheck(e, ["--stack", e.stack.name]));
            expect(text.code).toBe(2);
            const repair = /^ {2}(pulumi up --stack .*)$/m.exec(text.stdout)?.[1];
            expect(repair, text.stdout).toBeDefined();
            for (const step of ["rserver-conf", "home-directories", "nss", "nscd", "restart", "scim-token"])
                expect(repair).toMatch(new RegExp(`--replace '[^']*-${step}'`));

            // As printed, from the project directory; PULUMI_SKIP_CONFIRMATIONS answers the prompt as a person would.
            await sb.exec(": > /var/log/standin/systemctl.log");
            await promisify(execFile)("bash", ["-c", repair!], {
                cwd: e.workDir,
                env: { ...process.env, ...e.env, PULUMI_SKIP_CONFIRMATIONS: "true" },
                maxBuffer: 16 << 20,
            }).catch((error: { stdout: string; stderr: string }) => {
                throw new Error(`the repair failed:\n${error.stdout}\n${error.stderr}`);
            });
            expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBeLessThanOrEqual(1);
            const after = keep(await runCheck(e, ["--stack", e.stack.name, "--json"]));
            expect(after.code, after.stdout).toBe(0);
            expect(new Set(Object.values(statuses(after)))).toEqual(new Set(["in sync"]));
            const conf = await sb.readFile("/etc/rstudio/rserver.conf");
            expect(conf).toContain("# admin: keep sessions short\nauth-timeout-minutes=30\n");
            expect(conf).toContain("auth-openid-username-claim=preferred_username");
            expect((await sb.readFile("/etc/pam.d/common-session")).match(/^# Posit Workbench: automatic home directory creation$/gm)).toHaveLength(1);
            tokens.push(String((await e.stack.outputs()).scimToken.value));
        });

        it("a replaced preflight (its remove undoes the host) makes every step run again: the host stays configured, the check in sync", async () => {
            const exported = JSON.parse(await e.exportPlain()) as { deployment: { resources: Array<{ urn: string }> } };
            const preflight = exported.deployment.resources.find((r) => r.urn.endsWith("-preflight"))!.urn;
            const up = await e.stack.up({ replace: [preflight] });
            expect(up.summary.result).toBe("succeeded");
            expect(up.summary.resourceChanges).toMatchObject({ replace: 1 });
            tokens.push(String(up.outputs.scimToken.value));
            const after = keep(await runCheck(e, ["--stack", e.stack.name, "--json"]));
            expect(after.code, after.stdout).toBe(0);
            expect((await sb.readFile("/etc/rstudio/rserver.conf")).match(/^# Managed by posit-workbench-entra /gm)).toHaveLength(1);
            expect(await tokenRows(sb)).toHaveLength(1);
        });

        it("names the node it cannot reach and the node with another secure-cookie-key, exit 1", async () => {
            const other = await startSandbox();
            try {
                await shareLogin([sb, other]);
                const closed = await freePort();
                const unreachable = await newStack(`checkdown${process.pid}`);
                const config = hostConfig([sb, other], SECRET, { cluster: true });
                const hosts = JSON.parse(config[`${NS}:hosts`].value);
                await unreachable.stack.setAllConfig({ ...config, [`${NS}:hosts`]: { value: JSON.stringify([hosts[0], { ...hosts[1], port: closed }]) } });
                const down = keep(await runCheck(unreachable, ["--stack", unreachable.stack.name]));
                expect(down.code).toBe(1);
                expect(down.stdout).toContain(
                    `node2 (${other.host}:${closed})\n  error: node2 (${other.host}:${closed}): cannot connect over SSH as admin: connect ECONNREFUSED ${other.host}:${closed}`,
                );

                const keys = await newStack(`checkkeys${process.pid}`);
                await keys.stack.setAllConfig(config);
                const mismatch = keep(await runCheck(keys, ["--stack", keys.stack.name, "--json"]));
                expect(mismatch.code).toBe(1);
                const nodes = JSON.parse(mismatch.stdout).nodes as Array<{ error?: string }>;
                expect(nodes[1].error).toBe(
                    `the Workbench nodes do not share one secure-cookie-key: node2 (${other.host}:${other.port}) has a different key than node1 (${sb.host}:${sb.port}). Copy the same key file to every node (mode 0600) before running the stack; nothing was written.`,
                );
            } finally {
                await other.stop();
            }
        });
    });
});
