/**
 * What a user sees when the stack refuses to run, through the real engine: bad configuration (the
 * example stack file as shipped) and cluster nodes with different secure-cookie-keys. Plain Pulumi
 * errors, one line per problem, no stack trace, no repeated prefixes, reported in seconds.
 */
import { copyFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { fingerprints, MANAGED_FILES } from "../host/driver";
import { engineUnavailable, newStack } from "./engine";
import { hostConfig, shareLogin } from "./stacks";

/** The engine's whole report of a failed run (the Automation API throws it). */
async function failure(run: Promise<unknown>): Promise<{ text: string; seconds: number }> {
    const start = Date.now();
    const error = await run.then(
        () => undefined,
        (e: Error & { commandResult?: { stdout: string; stderr: string } }) => e,
    );
    expect(error, "the run should have failed").toBeDefined();
    return { text: `${error!.commandResult?.stdout ?? ""}\n${error!.commandResult?.stderr ?? ""}`, seconds: (Date.now() - start) / 1000 };
}

/** The error in the engine's Diagnostics section: its "error:" line and the lines indented under it. */
function diagnosedError(text: string): string[] {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => /^ {4}error: /.test(l));
    expect(start, `no error in the diagnostics of:\n${text}`).toBeGreaterThan(-1);
    const end = lines.findIndex((l, i) => i > start && !/^ {6}/.test(l));
    return lines.slice(start, end).map((l) => l.slice(4));
}

describe("errors a user meets", async () => {
    describe.skipIf(await engineUnavailable())("through the engine", () => {
        it("bad configuration: the example prod stack as shipped gets one line per problem, no stack trace", async () => {
            const e = await newStack("prod");
            await copyFile(resolve(__dirname, "../../Pulumi.prod.yaml"), join(e.workDir, "Pulumi.prod.yaml"));
            const { text, seconds } = await failure(e.stack.preview());
            expect(diagnosedError(text)).toEqual([
                "error: Invalid stack configuration:",
                "  - posit-workbench-entra:assignedUsers.0: expected user object ids, not the all-zero placeholder",
                '  - posit-workbench-entra:host.hostKey: expected the host public key in authorized_keys format, e.g. "ssh-ed25519 AAAAC3Nz..." (ssh-keyscan -t ed25519 <host>)',
            ]);
            expect(text.match(/error: /g)).toHaveLength(2); // the resource line and the diagnostics
            expect(text).not.toMatch(/unhandled exception|ConfigError|problems:|\n\s+at /);
            expect(seconds).toBeLessThan(20);
        });

        describe("cluster nodes with different secure-cookie-keys", () => {
            let one: Sandbox;
            let two: Sandbox;
            beforeAll(async () => {
                [one, two] = await Promise.all([startSandbox(), startSandbox()]);
                await shareLogin([one, two]);
            });
            afterAll(() => Promise.all([one?.stop(), two?.stop()]));

            it("are named in one plain error within seconds, and nothing is written", async () => {
                const before = [await fingerprints(one, MANAGED_FILES), await fingerprints(two, MANAGED_FILES)];
                const e = await newStack(`keys${process.pid}`);
                await e.stack.setAllConfig(hostConfig([one, two], "Key~mismatch-client-secret-0123456789ab"));
                const { text, seconds } = await failure(e.stack.up());
                const [node1, node2] = [one, two].map((sb, i) => `node${i + 1} (${sb.host}:${sb.port})`);
                expect(diagnosedError(text)).toEqual([
                    `error: the Workbench nodes do not share one secure-cookie-key: ${node2} has a different key than ${node1}. Copy the same key file to every node (mode 0600) before running the stack; nothing was written.`,
                ]);
                expect(text).not.toMatch(/error serializing property|unhandled exception|\n\s+at /);
                expect(text.match(/do not share one secure-cookie-key/g)).toHaveLength(2); // the resource line and the diagnostics
                expect(seconds).toBeLessThan(30);
                expect([await fingerprints(one, MANAGED_FILES), await fingerprints(two, MANAGED_FILES)]).toEqual(before);
            });
        });
    });
});
