/**
 * A load-balanced cluster of three sandbox hosts over real SSH: shared key check, one encryption,
 * one SCIM token, rolling configuration and restart that stops at a failing node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workbenchDecrypt } from "../sandbox/rskey";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { scimTokenName } from "../../host/plan";
import {
    applyAll,
    CLIENT_SECRET,
    countSequence,
    fingerprints,
    hostValues,
    MANAGED_FILES,
    removeAll,
    RESTART_SEQUENCE,
    StepError,
    systemctlCalls,
} from "./driver";

const KEY = "/var/lib/rstudio-server/secure-cookie-key";

/** Gives every node the first node's secure-cookie-key, as a cluster requires. */
async function shareKey(nodes: Sandbox[]) {
    const key = await nodes[0].readFile(KEY);
    for (const node of nodes.slice(1)) {
        await node.writeFile(KEY, key);
        await node.exec(`chmod 0600 ${KEY}`);
    }
    return key;
}

/** Runs of `rstudio-server encrypt-password` (each logged entry's first line is the command run; its ancestors follow). */
const encryptCalls = async (sb: Sandbox) =>
    ((await sb.readFile("/var/log/standin/cmdlines.log")).match(/^--- \S+ \S*rstudio-server encrypt-password/gm) ?? []).length;

describe("a cluster of three nodes sharing one key", () => {
    let nodes: Sandbox[];
    let key: string;
    let before: Array<Record<string, string>>;

    beforeAll(async () => {
        nodes = await Promise.all([startSandbox(), startSandbox(), startSandbox()]);
        key = await shareKey(nodes);
        before = await Promise.all(nodes.map((n) => fingerprints(n, MANAGED_FILES)));
        await applyAll(nodes, hostValues({ provisioning: "scim" }));
    });
    afterAll(() => Promise.all(nodes.map((n) => n.stop())));

    it("writes the same settings and the same encrypted secret to every node", async () => {
        const confs = await Promise.all(nodes.map((n) => n.readFile("/etc/rstudio/rserver.conf")));
        const managed = confs.map((c) => c.slice(c.indexOf("# Managed by posit-workbench-entra")));
        expect(new Set(managed).size).toBe(1);
        const secrets = await Promise.all(nodes.map((n) => n.readFile("/etc/rstudio/openid-client-secret")));
        expect(new Set(secrets).size).toBe(1);
        expect(await workbenchDecrypt(/client-secret=(.*)/.exec(secrets[0])![1], key)).toBe(CLIENT_SECRET);
    });

    it("encrypts once, on the first node", async () => {
        expect(await encryptCalls(nodes[0])).toBeGreaterThan(0);
        expect(await encryptCalls(nodes[1])).toBe(0);
        expect(await encryptCalls(nodes[2])).toBe(0);
    });

    it("generates the SCIM token once, on the first node", async () => {
        const tokens = await Promise.all(nodes.map((n) => n.exec("rstudio-server user-service list-tokens").then((r) => r.stdout)));
        expect(tokens[0]).toContain(scimTokenName("hosttest"));
        expect(tokens[1]).not.toContain(scimTokenName("hosttest"));
        expect(tokens[2]).not.toContain(scimTokenName("hosttest"));
    });

    it("restarts each node once and each answers its health check", async () => {
        for (const node of nodes) {
            expect(countSequence(await systemctlCalls(node), RESTART_SEQUENCE)).toBe(1);
            expect((await fetch(`http://127.0.0.1:${node.workbenchPort}/health-check`)).status).toBe(200);
        }
    });

    it("restores every node and revokes the token on destroy", async () => {
        await removeAll(nodes, hostValues({ provisioning: "scim" }));
        for (const [i, node] of nodes.entries()) expect(await fingerprints(node, MANAGED_FILES), `node${i + 1}`).toEqual(before[i]);
        expect((await nodes[0].exec("rstudio-server user-service list-tokens")).stdout).not.toContain(scimTokenName("hosttest"));
    });
});

describe("a cluster whose second node has another key", () => {
    let nodes: Sandbox[];
    let before: Array<Record<string, string>>;
    let error: Error;

    beforeAll(async () => {
        nodes = await Promise.all([startSandbox(), startSandbox(), startSandbox()]);
        await shareKey(nodes);
        await nodes[1].exec(`uuidgen > ${KEY} 2>/dev/null || cat /proc/sys/kernel/random/uuid > ${KEY}`);
        before = await Promise.all(nodes.map((n) => fingerprints(n, MANAGED_FILES)));
        error = await applyAll(nodes, hostValues()).then(
            () => new Error("applied"),
            (e: Error) => e,
        );
    });
    afterAll(() => Promise.all(nodes.map((n) => n.stop())));

    it("stops before writing anything, naming the odd node", async () => {
        expect(error.message).toMatch(new RegExp(`node2 \\(127\\.0\\.0\\.1:${nodes[1].port}\\) has a different key than node1 .*, node3 `));
        expect(error.message).not.toMatch(/[0-9a-f]{64}/);
        for (const [i, node] of nodes.entries()) expect(await fingerprints(node, MANAGED_FILES), `node${i + 1}`).toEqual(before[i]);
    });
});

describe("a cluster whose second node refuses the new configuration", () => {
    let nodes: Sandbox[];
    let third: Record<string, string>;
    let error: StepError;

    beforeAll(async () => {
        nodes = await Promise.all([startSandbox(), startSandbox(), startSandbox()]);
        await shareKey(nodes);
        await nodes[1].exec("touch /etc/rstudio/.standin-refuse-start");
        third = await fingerprints(nodes[2], MANAGED_FILES);
        for (const node of nodes) await node.exec(": > /var/log/standin/systemctl.log");
        error = (await applyAll(nodes, hostValues()).catch((e) => e)) as StepError;
    });
    afterAll(() => Promise.all(nodes.map((n) => n.stop())));

    it("fails on that node, naming it", () => {
        expect(error).toBeInstanceOf(StepError);
        expect(error.node).toBe(`node2 (127.0.0.1:${nodes[1].port})`);
        expect(error.message).toMatch(/standin: configured to refuse start/);
    });

    it("leaves the first node configured and running, the second on its previous configuration", async () => {
        expect(countSequence(await systemctlCalls(nodes[0]), RESTART_SEQUENCE)).toBe(1);
        expect((await fetch(`http://127.0.0.1:${nodes[0].workbenchPort}/health-check`)).status).toBe(200);
        expect(await nodes[1].readFile("/etc/rstudio/rserver.conf")).not.toContain("auth-openid=1");
        expect(countSequence(await systemctlCalls(nodes[1]), RESTART_SEQUENCE)).toBe(0);
    });

    it("does not touch the third node", async () => {
        expect(await fingerprints(nodes[2], MANAGED_FILES)).toEqual(third);
        expect(await systemctlCalls(nodes[2])).toEqual([]);
    });
});
