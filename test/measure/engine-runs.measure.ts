/**
 * The engine figures in the README: preview, fresh up, no-op up, a setting change and destroy of a
 * one-host SCIM stack with the real engine against a new sandbox, three rounds, medians, with the SSH
 * connections and Workbench restarts of each; and, in the same rounds, the preview of a program with
 * one remote.Command, for the ratio of this program's preview time to it.
 */
import { expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { countSequence, RESTART_SEQUENCE, systemctlCalls } from "../host/driver";
import { newStack } from "../e2e/engine";
import { hostConfig, NS, sshConnections } from "../e2e/stacks";

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const OPERATIONS = ["preview", "fresh up", "no-op up", "setting change", "destroy"] as const;
type Operation = (typeof OPERATIONS)[number];
interface Figure {
    ms: number;
    ssh: number;
    restarts: number;
}

const ONE_COMMAND = (sb: Sandbox) => `
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
const config = new pulumi.Config("${NS}");
new command.remote.Command("one", {
    connection: { host: "${sb.host}", port: ${sb.port}, user: "${sb.user}", privateKey: config.requireSecret("sshPrivateKey"), hostKey: "${sb.hostPublicKey}" },
    create: "true",
});
`;

async function round(): Promise<{ figures: Record<Operation, Figure>; baselinePreview: number }> {
    const sb = await startSandbox();
    try {
        const e = await newStack(`measure${process.pid}${Date.now()}`);
        const config = (claim: string) => ({
            ...hostConfig([sb], "Mea~client-secret-0123456789abcdefghij"),
            [`${NS}:provisioning`]: { value: "scim" },
            [`${NS}:usernameClaim`]: { value: claim },
        });
        await e.stack.setAllConfig(config("preferred_username"));
        const figures = {} as Record<Operation, Figure>;
        const measure = async (operation: Operation, run: () => Promise<unknown>) => {
            await sb.exec(": > /var/log/standin/systemctl.log");
            const ssh = await sshConnections(sb);
            const started = Date.now();
            await run();
            figures[operation] = {
                ms: Date.now() - started,
                ssh: (await sshConnections(sb)) - ssh,
                restarts: countSequence(await systemctlCalls(sb), RESTART_SEQUENCE),
            };
        };
        await measure("preview", () => e.stack.preview());
        await measure("fresh up", () => e.stack.up());
        await measure("no-op up", () => e.stack.up());
        await e.stack.setAllConfig(config("email"));
        await measure("setting change", () => e.stack.up());
        await measure("destroy", () => e.stack.destroy());

        const baseline = await newStack(`baseline${process.pid}${Date.now()}`, ONE_COMMAND(sb));
        await baseline.stack.setAllConfig({ [`${NS}:sshPrivateKey`]: { value: sb.privateKey, secret: true } });
        const started = Date.now();
        await baseline.stack.preview();
        return { figures, baselinePreview: Date.now() - started };
    } finally {
        await sb.stop();
    }
}

it("measures the engine runs", async () => {
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await round());
    const lines = ["| run | median wall time | SSH connections | Workbench restarts |", "| --- | --- | --- | --- |"];
    for (const op of OPERATIONS) {
        const runs = rounds.map((r) => r.figures[op]);
        lines.push(
            `| ${op} | ${(median(runs.map((f) => f.ms)) / 1000).toFixed(1)} s | ${median(runs.map((f) => f.ssh))} | ${median(runs.map((f) => f.restarts))} |`,
        );
    }
    const preview = median(rounds.map((r) => r.figures.preview.ms));
    const baseline = median(rounds.map((r) => r.baselinePreview));
    lines.push(
        "",
        `preview of this program / preview of a one-remote.Command program: ${(preview / baseline).toFixed(2)} (${(preview / 1000).toFixed(1)} s / ${(baseline / 1000).toFixed(1)} s)`,
    );
    console.log(lines.join("\n"));
    expect(rounds.every((r) => r.figures["no-op up"].ssh === 0 && r.figures["fresh up"].restarts === 1)).toBe(true);
});
