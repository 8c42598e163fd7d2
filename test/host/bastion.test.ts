/**
 * `npm run check`'s connections behind a bastion, over real SSH: a bastion sandbox and two node sandboxes in a
 * network namespace of their own, of which only the bastion's SSH port is let out (test/sandbox/netns.ts).
 * A direct connection to a node fails; through the bastion both hops are pinned, the bastion is logged in to
 * once for all nodes, and each failure names its hop.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hops } from "../../check/hops";
import { connect } from "../../check/ssh";
import type { Bastion } from "../../host/connection";
import { privateNetwork, PrivateNetwork, reachable } from "../sandbox/netns";
import { Sandbox, startSandbox } from "../sandbox/sandbox";

/** SSH logins a sandbox's sshd accepted so far. */
const logins = async (sb: Sandbox) => ((await readFile(join(sb.dir, "sshd.log"), "utf8")).match(/Accepted publickey/g) ?? []).length;

// `ip` brings the namespace's loopback up (scripts/test-prerequisites.sh installs it).
describe("check behind a bastion", () => {
    describe("in a private network", behindBastion);
});

function behindBastion() {
    let net: PrivateNetwork;
    let jump: Sandbox;
    let nodes: Sandbox[];
    let bastion: Bastion;
    let relay: { port: number; connections: () => number };

    beforeAll(async () => {
        net = await privateNetwork();
        [jump, ...nodes] = await Promise.all([startSandbox({ netns: net.path }), startSandbox({ netns: net.path }), startSandbox({ netns: net.path })]);
        relay = await net.expose(jump.port);
        bastion = { address: "127.0.0.1", port: relay.port, user: jump.user, hostKey: jump.hostPublicKey };
    }, 240_000);
    afterAll(async () => {
        await Promise.all([jump, ...(nodes ?? [])].map((sb) => sb?.stop()));
        await net?.stop();
    });

    const target = (sb: Sandbox, overrides: Partial<Bastion> = {}) => ({
        address: sb.host,
        port: sb.port,
        user: sb.user,
        hostKey: sb.hostPublicKey,
        bastion: { ...bastion, ...overrides },
    });
    // Each node has its own key (nodePrivateKeys), the bastion its own (bastionPrivateKey); no shared key.
    const keys = () => ({ bastion: jump.privateKey, node: (name: string) => nodes[Number(name)].privateKey });

    it("a node is not reachable directly, only the bastion (through the relay)", async () => {
        expect(await reachable(nodes[0].port)).toBe(false);
        expect(await reachable(jump.port)).toBe(false);
        expect(await reachable(relay.port)).toBe(true);
        await expect(
            connect({ address: nodes[0].host, port: nodes[0].port, user: nodes[0].user, hostKey: nodes[0].hostPublicKey }, nodes[0].privateKey, "node1", 5_000),
        ).rejects.toThrow(/node1: cannot connect over SSH as admin: .*ECONNREFUSED/);
    });

    it("reaches every node through one shared, pinned connection to the bastion, each with its own user and key", async () => {
        const before = { jump: await logins(jump), nodes: await Promise.all(nodes.map(logins)), relay: relay.connections() };
        const hops = new Hops(keys());
        const sessions = await Promise.all(
            nodes.map((sb, i) => hops.connect({ ...target(sb), privateKeyName: String(i) }, `node${i + 1} (${sb.host}:${sb.port})`)),
        );
        const outs = await Promise.all(sessions.map((s) => s.run("cat /etc/ssh/ssh_host_ed25519_key.pub")));
        expect(outs.map((o) => o.stdout.split(" ").slice(0, 2).join(" "))).toEqual(nodes.map((sb) => sb.hostPublicKey));
        for (const s of sessions) s.close();
        hops.close();
        // One login on the bastion for both nodes, one on each node.
        expect(await logins(jump)).toBe(before.jump + 1);
        expect(relay.connections()).toBe(before.relay + 1);
        expect(await Promise.all(nodes.map(logins))).toEqual(before.nodes.map((n) => n + 1));
    });

    it("a wrong bastion host key stops at the bastion, naming it; nothing reaches the node", async () => {
        const before = { jump: await logins(jump), node: await logins(nodes[0]) };
        const hops = new Hops(keys());
        await expect(hops.connect({ ...target(nodes[0], { hostKey: nodes[1].hostPublicKey }), privateKeyName: "0" }, "node1")).rejects.toThrow(
            `bastion 127.0.0.1:${relay.port}: host key mismatch: it presented a key other than the pinned bastion.hostKey`,
        );
        hops.close();
        expect(await logins(jump)).toBe(before.jump);
        expect(await logins(nodes[0])).toBe(before.node);
    });

    it("a node that refuses the bastion's connection is named, via bastion", async () => {
        const hops = new Hops(keys());
        const closed = { ...target(nodes[0]), port: nodes[0].workbenchPort + 1, privateKeyName: "0" };
        await expect(hops.connect(closed, `node1 (127.0.0.1:${closed.port})`)).rejects.toThrow(
            `node1 (127.0.0.1:${closed.port}) via bastion: connection refused (bastion 127.0.0.1:${relay.port} could not open a TCP connection to 127.0.0.1:${closed.port}`,
        );
        hops.close();
    });

    it("a node's wrong host key behind the bastion names the node, via bastion", async () => {
        const hops = new Hops(keys());
        await expect(hops.connect({ ...target(nodes[0]), hostKey: nodes[1].hostPublicKey, privateKeyName: "0" }, "node1 (x)")).rejects.toThrow(
            "node1 (x) via bastion: the host key does not match the pinned hostKey",
        );
        hops.close();
    });
}
