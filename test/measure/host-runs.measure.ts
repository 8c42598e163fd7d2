/**
 * Wall time, SSH commands and restarts of the host steps against sandbox hosts: a fresh run and a
 * run with nothing to change, three times each on a new sandbox, medians printed as a table.
 */
import { expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, countSequence, hostValues, RESTART_SEQUENCE, Run, systemctlCalls } from "../host/driver";

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(nodes: number) {
    const rows: Record<"fresh" | "no change", Array<{ run: Run; restarts: number }>> = { fresh: [], "no change": [] };
    for (let round = 0; round < ROUNDS; round++) {
        const sandboxes: Sandbox[] = await Promise.all(Array.from({ length: nodes }, () => startSandbox()));
        try {
            const key = await sandboxes[0].readFile("/var/lib/rstudio-server/secure-cookie-key");
            for (const sb of sandboxes.slice(1)) await sb.writeFile("/var/lib/rstudio-server/secure-cookie-key", key);
            for (const label of ["fresh", "no change"] as const) {
                for (const sb of sandboxes) await sb.exec(": > /var/log/standin/systemctl.log");
                const run = await applyAll(sandboxes, hostValues());
                let restarts = 0;
                for (const sb of sandboxes) restarts += countSequence(await systemctlCalls(sb), RESTART_SEQUENCE);
                rows[label].push({ run, restarts });
            }
        } finally {
            await Promise.all(sandboxes.map((sb) => sb.stop()));
        }
    }
    return rows;
}

it("measures the host steps", async () => {
    const lines = ["| hosts | run | median wall time | SSH commands | Workbench restarts |", "| --- | --- | --- | --- | --- |"];
    for (const nodes of [1, 3]) {
        for (const [label, runs] of Object.entries(await measure(nodes))) {
            const ms = median(runs.map((r) => r.run.milliseconds));
            lines.push(
                `| ${nodes} | ${label} | ${(ms / 1000).toFixed(1)} s | ${median(runs.map((r) => r.run.sshCommands))} | ${median(runs.map((r) => r.restarts))} |`,
            );
            expect(runs.every((r) => r.restarts === (label === "fresh" ? nodes : 0))).toBe(true);
        }
    }
    console.log(lines.join("\n"));
});
