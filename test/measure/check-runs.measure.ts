/**
 * The check figures in docs/measured.md: `npm run check` on a deployed SCIM stack of 1 and of 3 nodes, three
 * rounds each, medians: wall time, the check's own time on the slowest node (from its report) and the ratio
 * of the two, SSH connections per node; and, in the same rounds, a no-op `pulumi up` of the same stack.
 */
import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { newStack, runCheck } from "../e2e/engine";
import { hostConfig, NS, shareLogin, sshConnections } from "../e2e/stacks";

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const KEY_FILE = "/var/lib/rstudio-server/secure-cookie-key";

async function measure(size: number): Promise<{ check: number; own: number; noop: number; sshPerNode: number[] }> {
    const nodes: Sandbox[] = await Promise.all(Array.from({ length: size }, () => startSandbox()));
    try {
        for (const node of nodes.slice(1)) await node.writeFile(KEY_FILE, await nodes[0].readFile(KEY_FILE));
        await shareLogin(nodes);
        const e = await newStack(`measurecheck${size}x${process.pid}`);
        await e.stack.setAllConfig({ ...hostConfig(nodes, "Mea~check-client-secret-0123456789abcdef"), [`${NS}:provisioning`]: { value: "scim" } });
        await e.stack.up();
        const checks: number[] = [];
        const owns: number[] = [];
        const noops: number[] = [];
        let sshPerNode: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
            const before = await Promise.all(nodes.map(sshConnections));
            let started = Date.now();
            const run = await runCheck(e, ["--stack", e.stack.name, "--json"]);
            checks.push(Date.now() - started);
            expect(run.code, run.stdout + run.stderr).toBe(0);
            owns.push(Math.max(...(JSON.parse(run.stdout).nodes as Array<{ seconds: number }>).map((n) => n.seconds * 1000)));
            sshPerNode = (await Promise.all(nodes.map(sshConnections))).map((n, j) => n - before[j]);
            started = Date.now();
            await e.stack.up();
            noops.push(Date.now() - started);
        }
        await e.stack.destroy();
        return { check: median(checks), own: median(owns), noop: median(noops), sshPerNode };
    } finally {
        await Promise.all(nodes.map((n) => n.stop()));
    }
}

it("measures npm run check", async () => {
    const lines = [
        "| nodes | check (median) | the nodes' own checks (median) | ratio | SSH connections per node | no-op `pulumi up` (median) |",
        "| --- | --- | --- | --- | --- | --- |",
    ];
    for (const size of [1, 3]) {
        const figures = await measure(size);
        lines.push(
            `| ${size} | ${(figures.check / 1000).toFixed(1)} s | ${(figures.own / 1000).toFixed(1)} s | ${(figures.check / figures.own).toFixed(2)}× | ${figures.sshPerNode.join(", ")} | ${(figures.noop / 1000).toFixed(1)} s |`,
        );
        expect(figures.sshPerNode.every((n) => n === 1)).toBe(true);
    }
    console.log(lines.join("\n"));
    await readFile("/proc/loadavg", "utf8").then((load) => console.log(`load average at the end: ${load.trim()}`));
});
