/**
 * Day two through the real engine, on a one-host SCIM stack in host-only mode: rotating the SSH key, then
 * new releases of this program (a comment, a refactoring, a new version of one step). None of them may
 * change the host or the SCIM token; the check stays in sync; destroy works with the new key alone.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls, tokenRows } from "../host/driver";
import { engineUnavailable, EngineStack, newStack, runCheck } from "./engine";
import { hostConfig, NS, secretsIn, sshConnections } from "./stacks";

const SECRET = "E2e~day-two-client-secret-0123456789abcd";
/** Figures for the README: SSH connections and wall time of each kind of run. */
const measured: string[] = [];

const sudoApplies = async (sb: Sandbox) => (await sb.readFile("/var/log/sudo.log")).split("\n").filter((l) => / (apply|remove)$/.test(l)).length;
/** Every file the program keeps on the host, the scripts and records included: inode, change time, hash (a rewrite shows). */
const stateFiles = async (sb: Sandbox) =>
    (
        await sb.exec(
            'find /var/lib/posit-workbench-entra -type f | sort | while read -r f; do printf \'%s %s %s\\n\' "$(stat -c \'%i %Z\' "$f")" "$(sha256sum < "$f")" "$f"; done',
        )
    ).stdout;

describe("the real engine", async () => {
    describe.skipIf(await engineUnavailable())("day two", dayTwo);
});

function dayTwo() {
    let sb: Sandbox;
    let e: EngineStack;
    let token = "";
    let secondKey = "";

    /** An up, with what it did on the host: SSH connections, applies, restarts, and whether any file changed. */
    async function upAndMeasure(what: string) {
        const before = {
            ssh: await sshConnections(sb),
            applies: await sudoApplies(sb),
            files: await fingerprints(sb, MANAGED_FILES),
            state: await stateFiles(sb),
        };
        await sb.exec(": > /var/log/standin/systemctl.log");
        const started = Date.now();
        const up = await e.stack.up();
        const seconds = (Date.now() - started) / 1000;
        expect(up.summary.result).toBe("succeeded");
        const after = {
            ssh: (await sshConnections(sb)) - before.ssh,
            applies: (await sudoApplies(sb)) - before.applies,
            restarts: countSequence(await systemctlCalls(sb), RESTART_SEQUENCE),
            filesChanged: JSON.stringify(await fingerprints(sb, MANAGED_FILES)) !== JSON.stringify(before.files),
            stateChanged: (await stateFiles(sb)) !== before.state,
            changes: Object.fromEntries(Object.entries(up.summary.resourceChanges ?? {}).filter(([k]) => k !== "same")),
            token: String(up.outputs.scimToken.value),
        };
        measured.push(
            `${what}: ${after.ssh} SSH connections, ${after.applies} applies, ${after.restarts} restarts, ${seconds.toFixed(1)} s, changes ${JSON.stringify(after.changes)}`,
        );
        return after;
    }

    beforeAll(async () => {
        sb = await startSandbox();
        e = await newStack(`daytwo${process.pid}`, undefined, { copyProgram: true });
        const config: ConfigMap = { ...hostConfig([sb], SECRET), [`${NS}:provisioning`]: { value: "scim" } };
        await e.stack.setAllConfig(config);
        const up = await e.stack.up();
        expect(up.summary.result).toBe("succeeded");
        token = String(up.outputs.scimToken.value);
        // A second key for the login user, as an admin rotating keys adds one before removing the old.
        const keyPath = join(e.workDir, "..", "second_key");
        await promisify(execFile)("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "second", "-f", keyPath]);
        secondKey = await readFile(keyPath, "utf8");
        await sb.exec("cat >> /home/admin/.ssh/authorized_keys", await readFile(`${keyPath}.pub`, "utf8"));
    });
    afterAll(async () => {
        console.log(measured.map((m) => `day two, ${m}`).join("\n"));
        await sb?.stop();
    });

    it("a no-op up runs nothing (the figure to compare with)", async () => {
        const run = await upAndMeasure("nothing changed");
        expect(run.ssh).toBe(0);
        expect(run.changes).toEqual({});
    });

    it("a new SSH key runs no step's apply: no file written, no restart, the same SCIM token on the host and in the outputs", async () => {
        const rowsBefore = await tokenRows(sb);
        await e.stack.setConfig(`${NS}:sshPrivateKey`, { value: secondKey, secret: true });
        const run = await upAndMeasure("a new SSH key");
        expect(run.applies).toBe(0);
        expect(run.restarts).toBe(0);
        expect(run.filesChanged).toBe(false);
        expect(run.stateChanged).toBe(false);
        expect(run.token).toBe(token);
        expect(await tokenRows(sb)).toEqual(rowsBefore);
        // The old key goes; everything after this (the releases, the check, destroy) uses the new one only.
        await sb.exec("keys=$(grep ' second$' /home/admin/.ssh/authorized_keys) && printf '%s\\n' \"$keys\" > /home/admin/.ssh/authorized_keys");
        expect((await sb.readFile("/home/admin/.ssh/authorized_keys")).trim().split("\n")).toHaveLength(1);
    });

    it("a release that changes a comment and refactors a script runs nothing on the host (no SSH connection at all)", async () => {
        const lib = join(e.workDir, "host/lib.sh");
        await writeFile(lib, `${await readFile(lib, "utf8")}\n# A comment a new release adds.\n`);
        const nscd = join(e.workDir, "host/nscd.sh");
        const text = await readFile(nscd, "utf8");
        // A refactoring: a local variable renamed.
        const renamed = text.replace(/\bnew\b/g, "rendered");
        expect(renamed).not.toBe(text);
        await writeFile(nscd, renamed);
        const run = await upAndMeasure("a release with a comment and a refactoring");
        expect(run.ssh).toBe(0);
        expect(run.changes).toEqual({});
        expect(run.token).toBe(token);
    });

    it("a release with a new version of one step runs that step once, as an idempotent apply: nothing changes, no restart, the same token", async () => {
        const steps = join(e.workDir, "host/steps.ts");
        const text = await readFile(steps, "utf8");
        const bumped = text.replace(/("nscd": \{ version: )(\d+)/, (_, head: string, v: string) => `${head}${Number(v) + 1}`);
        expect(bumped).not.toBe(text);
        await writeFile(steps, bumped);
        const run = await upAndMeasure("a release with a new version of the nscd step");
        // The new scripts installed, the nscd step applied, the restart step answered (nothing pending).
        expect(run.ssh).toBe(3);
        expect(run.restarts).toBe(0);
        expect(run.filesChanged).toBe(false);
        expect(run.token).toBe(token);
        expect((await sb.exec("ls /var/lib/posit-workbench-entra/scripts/*/ | grep -c nscd-v")).stdout.trim()).toBe("2");
    });

    it("leaves state and host agreeing: the check is in sync, and no secret is in the state in clear", async () => {
        const check = await runCheck(e, ["--stack", e.stack.name, "--json"]);
        expect(check.code, check.stdout + check.stderr).toBe(0);
        expect(secretsIn({ "state export": await e.exportPlain() }, { "client secret": SECRET, "SCIM token": token }, [sb])).toEqual([]);
    });

    it("destroy works with the new key alone and restores the host", async () => {
        const destroy = await e.stack.destroy();
        expect(destroy.summary.result).toBe("succeeded");
        expect(await tokenRows(sb)).toEqual([]);
        expect((await sb.exec("find /var/lib/posit-workbench-entra 2>/dev/null || echo gone")).stdout.trim()).toBe("gone");
    });
}
