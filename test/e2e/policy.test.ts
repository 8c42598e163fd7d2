/**
 * The policy pack through the real engine, called as the workflows call it (`--policy-pack policy`
 * from the project directory), and a plain JIT preview's output.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { engineUnavailable, newStack } from "./engine";
import { hostConfig, NS } from "./stacks";

const WORKFLOWS = join(__dirname, "../../.github/workflows");

describe("the policy pack", async () => {
    describe.skipIf(await engineUnavailable())("through the engine", () => {
        let sb: Sandbox;
        beforeAll(async () => {
            sb = await startSandbox();
        });
        afterAll(async () => sb?.stop());

        it("is what the workflows run: `policyPacks: policy` from the project directory, as these previews do", () => {
            for (const workflow of ["preview.yml", "pulumi-stack.yml"]) {
                const text = readFileSync(join(WORKFLOWS, workflow), "utf8");
                expect(
                    text.match(/^\s*policyPacks:\s*(\S+)\s*$/gm)?.map((l) => l.trim()),
                    workflow,
                ).toEqual(["policyPacks: policy"]);
            }
            // The pull request comment is the preview with its diff: where a reviewer reads the values.
            expect(readFileSync(join(WORKFLOWS, "preview.yml"), "utf8")).toMatch(/^\s*diff: true\s*$/m);
        });

        it("passes a stack with pinned host keys, and a plain JIT preview warns of nothing", async () => {
            const e = await newStack(`policy${process.pid}`);
            await e.stack.setAllConfig(hostConfig([sb], "Pol~client-secret-0123456789abcdefghij"));
            const preview = await e.stack.preview({ policyPacks: ["policy"] });
            expect(preview.stdout).toContain("✅ workbench-entra-guardrails@v0.1.0 (local: policy)");
            expect(preview.stderr).toBe("");
            // The one warning is this test's own engine: a provider found on PATH rather than installed.
            const warnings = preview.stdout.split("\n").filter((line) => /warning:/i.test(line) && !/using pulumi-resource-command from \$PATH/.test(line));
            expect(warnings).toEqual([]);
        });

        it("stops a stack that does not pin its host keys, naming host-command-pins-host-key", async () => {
            const e = await newStack(`unpinned${process.pid}`);
            const config = hostConfig([sb], "Pol~client-secret-0123456789abcdefghij");
            config[`${NS}:host`] = { value: JSON.stringify({ address: sb.host, port: sb.port, user: sb.user }) };
            config[`${NS}:allowUnpinnedHostKey`] = { value: "true" };
            await e.stack.setAllConfig(config);
            const failure = await e.stack.preview({ policyPacks: ["policy"] }).then(
                () => undefined,
                (err: Error) => err.message,
            );
            expect(failure).toMatch(/mandatory.*host-command-pins-host-key|host-command-pins-host-key.*mandatory/s);
        });
    });
});
