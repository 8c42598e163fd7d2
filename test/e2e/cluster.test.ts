/**
 * A two-node cluster through the real engine: one up (one encryption, one SCIM token, one restart per
 * node, node 2 only after node 1 is back), an up that runs nothing, node 2 taken out of `hosts`
 * (restored byte for byte, node 1 untouched), destroy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls, tokenRows } from "../host/driver";
import { engineUnavailable, EngineStack, newStack, runCheck } from "./engine";
import { hostConfig, NS, SCRIPT_RESOURCES_PER_NODE, secretsIn, shareLogin, sshConnections, STEPS_PER_NODE } from "./stacks";

const SECRET = "Clu~cluster-client-secret-0123456789abcd";
const KEY_FILE = "/var/lib/rstudio-server/secure-cookie-key";

const encryptions = async (sb: Sandbox) =>
    ((await sb.readFile("/var/log/standin/cmdlines.log")).match(/^--- \S+ \S*rstudio-server encrypt-password$/gm) ?? []).length;
const tokens = tokenRows;
/** When systemd last started Workbench on a node, and when a managed file of a node last changed (ns since the epoch). */
const lastStart = async (sb: Sandbox) => BigInt((await sb.exec("stat -c %.9Y /var/log/standin/systemctl.log | tr -d .")).stdout.trim());
const firstWrite = async (sb: Sandbox) =>
    (await sb.exec(`stat -c %.9Y ${MANAGED_FILES.join(" ")} 2>/dev/null | tr -d .`)).stdout
        .split("\n")
        .filter(Boolean)
        .map(BigInt)
        .sort((x, y) => (x < y ? -1 : 1))[0];

function clusterConfig(nodes: Sandbox[]) {
    return { ...hostConfig(nodes, SECRET, { cluster: true }), [`${NS}:provisioning`]: { value: "scim" } };
}

describe("a cluster", async () => {
    describe.skipIf(await engineUnavailable())("through the engine", () => {
        let one: Sandbox;
        let two: Sandbox;
        let e: EngineStack;
        let beforeOne: Record<string, string>;
        let beforeTwo: Record<string, string>;
        let token = "";

        beforeAll(async () => {
            [one, two] = await Promise.all([startSandbox(), startSandbox()]);
            await two.writeFile(KEY_FILE, await one.readFile(KEY_FILE));
            await shareLogin([one, two]);
            beforeOne = await fingerprints(one, MANAGED_FILES);
            beforeTwo = await fingerprints(two, MANAGED_FILES);
            e = await newStack(`cluster${process.pid}`);
            await e.stack.setAllConfig(clusterConfig([one, two]));
        });
        afterAll(async () => {
            await Promise.all([one?.stop(), two?.stop()]);
        });

        it("configures both nodes in one up: one encryption and one token on node 1, one restart each, node 2 after node 1", async () => {
            const up = await e.stack.up();
            expect(up.summary.result).toBe("succeeded");
            expect(up.summary.resourceChanges).toMatchObject({ create: 1 + 1 + 2 * (STEPS_PER_NODE + SCRIPT_RESOURCES_PER_NODE) + 2 });
            expect([await encryptions(one), await encryptions(two)]).toEqual([1, 0]);
            expect((await tokens(one)).filter((t) => t.includes(`pulumi cluster${process.pid}`))).toHaveLength(1);
            expect(await tokens(two)).toEqual([]);
            for (const node of [one, two]) expect(countSequence(await systemctlCalls(node), RESTART_SEQUENCE)).toBe(1);
            expect(await firstWrite(two)).toBeGreaterThan(await lastStart(one));
            expect(await one.readFile("/etc/rstudio/openid-client-secret")).toBe(await two.readFile("/etc/rstudio/openid-client-secret"));
            token = up.outputs.scimToken.value;
            expect(
                secretsIn({ "state export": await e.exportPlain(), "engine output": up.stdout + up.stderr }, { "client secret": SECRET, "SCIM token": token }, [
                    one,
                    two,
                ]),
            ).toEqual([]);
        });

        it("checks the second node alone in sync (npm run check --node), the encrypted secret taken from the state", async () => {
            const run = await runCheck(e, ["--stack", e.stack.name, "--node", `${two.host}:${two.port}`, "--json"]);
            expect(run.code, run.stdout + run.stderr).toBe(0);
            const nodes = JSON.parse(run.stdout).nodes as Array<{ name: string; steps: Array<{ step: string; status: string }> }>;
            expect(nodes.map((n) => n.name)).toEqual([`node2 (${two.host}:${two.port})`]);
            expect(Object.fromEntries(nodes[0].steps.map((s) => [s.step, s.status]))).toEqual(
                Object.fromEntries(["preflight", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "restart"].map((id) => [id, "in sync"])),
            );
        });

        it("runs nothing on either node when nothing changed", async () => {
            const connections = [await sshConnections(one), await sshConnections(two)];
            const up = await e.stack.up();
            expect(Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
            expect([await sshConnections(one), await sshConnections(two)]).toEqual(connections);
        });

        it("restores node 2 byte for byte when it leaves `hosts`, and leaves node 1 alone", async () => {
            const oneNow = await fingerprints(one, MANAGED_FILES);
            const oneConnections = await sshConnections(one);
            await e.stack.setAllConfig(clusterConfig([one]));
            const up = await e.stack.up();
            expect(up.summary.resourceChanges).toMatchObject({ delete: STEPS_PER_NODE + SCRIPT_RESOURCES_PER_NODE });
            expect(await fingerprints(two, MANAGED_FILES)).toEqual(beforeTwo);
            expect(await fingerprints(one, MANAGED_FILES)).toEqual(oneNow);
            expect(await sshConnections(one)).toBe(oneConnections);
            expect((await two.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
        });

        it("restores node 1 and revokes the token on destroy", async () => {
            expect((await e.stack.destroy()).summary.result).toBe("succeeded");
            expect(await fingerprints(one, MANAGED_FILES)).toEqual(beforeOne);
            expect(await tokens(one)).toEqual([]);
        });
    });
});
