/**
 * A stack whose node is reachable only through a bastion, through the real engine and command provider
 * (connection.proxy): the bastion and the node are sandboxes in a network namespace of their own, of which
 * only the bastion's SSH port is let out (test/sandbox/netns.ts). The node logs in with its own key
 * (nodePrivateKeys), the bastion with another (bastionPrivateKey); there is no sshPrivateKey. Then, on an
 * ordinary stack, adding a bastion is a connection change that writes nothing, and destroy uses the bastion.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countSequence, fingerprints, MANAGED_FILES, RESTART_SEQUENCE, systemctlCalls } from "../host/driver";
import { privateNetwork, PrivateNetwork, reachable } from "../sandbox/netns";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { engineUnavailable, EngineStack, newStack, runCheck } from "./engine";
import { hostConfig, NS, secretsIn, sshConnections } from "./stacks";

const SECRET = "Bst~bastion-client-secret-0123456789abcdef";
/** What each run did, printed at the end (for docs/measured.md and the troubleshooting table). */
const measured: string[] = [];

const sudoApplies = async (sb: Sandbox) =>
    (await sb.readFile("/var/log/sudo.log").catch(() => "")).split("\n").filter((l) => / (apply|remove)$/.test(l)).length;
/** Every file the program keeps on the host: inode, change time, hash (a rewrite shows). */
const stateFiles = async (sb: Sandbox) =>
    (
        await sb.exec(
            'find /var/lib/posit-workbench-entra -type f | sort | while read -r f; do printf \'%s %s %s\\n\' "$(stat -c \'%i %Z\' "$f")" "$(sha256sum < "$f")" "$f"; done',
        )
    ).stdout;
const bastionConfig = (jump: Sandbox, port: number, hostKey = jump.hostPublicKey) => ({
    [`${NS}:bastion`]: { value: JSON.stringify({ address: "127.0.0.1", port, user: jump.user, hostKey }) },
});

describe("the real engine", async () => {
    const skip = await engineUnavailable();
    describe.skipIf(skip)("a node reachable only through a bastion", onlyThroughBastion);
    describe.skipIf(skip)("a bastion added to an existing stack", bastionAdded);
});

function onlyThroughBastion() {
    let net: PrivateNetwork;
    let jump: Sandbox;
    let node: Sandbox;
    let relay: { port: number; connections: () => number };
    let e: EngineStack;
    const logs: string[] = [];
    const logins = async () => ({ jump: await sshConnections(jump), node: await sshConnections(node) });

    beforeAll(async () => {
        net = await privateNetwork();
        [jump, node] = await Promise.all([startSandbox({ netns: net.path }), startSandbox({ netns: net.path })]);
        relay = await net.expose(jump.port);
        e = await newStack(`bastion${process.pid}`);
        const { [`${NS}:sshPrivateKey`]: _none, ...config } = hostConfig([node], SECRET);
        await e.stack.setAllConfig({ ...config, ...bastionConfig(jump, relay.port), [`${NS}:bastionPrivateKey`]: { value: jump.privateKey, secret: true } });
        // As the README says to set a node's own key: a secret at a path of the map.
        await e.stack.setConfig(`${NS}:nodePrivateKeys["${node.host}"]`, { value: node.privateKey, secret: true }, true);
    }, 240_000);
    afterAll(async () => {
        console.log(measured.map((m) => `bastion, ${m}`).join("\n"));
        await Promise.all([jump?.stop(), node?.stop()]);
        await net?.stop();
    });

    it("the node is not reachable directly", async () => {
        expect(await reachable(node.port)).toBe(false);
        expect(await reachable(relay.port)).toBe(true);
    });

    it("up goes through the bastion: the node configured, one restart", async () => {
        const before = await logins();
        const up = await e.stack.up({ onOutput: (o) => logs.push(o) });
        expect(up.summary.result).toBe("succeeded");
        expect(countSequence(await systemctlCalls(node), RESTART_SEQUENCE)).toBe(1);
        expect(await node.readFile("/etc/rstudio/rserver.conf")).toContain("auth-openid=1");
        const after = await logins();
        measured.push(
            `first up: ${after.node - before.node} logins on the node, ${after.jump - before.jump} on the bastion, ${relay.connections()} connections relayed to the bastion so far`,
        );
        // Every login on the node came through the bastion: one bastion login (and relayed connection) for each.
        expect(after.node - before.node).toBeGreaterThan(0);
        expect(after.jump - before.jump).toBe(after.node - before.node);
    });

    it("a no-op up runs nothing, on the bastion or the node", async () => {
        const before = await logins();
        const up = await e.stack.up({ onOutput: (o) => logs.push(o) });
        expect(Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
        expect(await logins()).toEqual(before);
    });

    it("npm run check is in sync through the bastion: one login on each", async () => {
        const before = await logins();
        const run = await runCheck(e, ["--stack", e.stack.name]);
        logs.push(run.stdout, run.stderr);
        expect(run.code, run.stdout + run.stderr).toBe(0);
        expect(await logins()).toEqual({ jump: before.jump + 1, node: before.node + 1 });
    });

    it("a wrong bastion host key stops before anything runs on the node, naming the bastion (check) or the proxy (engine)", async () => {
        const before = { ...(await logins()), applies: await sudoApplies(node), files: await fingerprints(node, MANAGED_FILES) };
        await e.stack.setAllConfig(bastionConfig(jump, relay.port, node.hostPublicKey));
        const failed = await e.stack.up({ onOutput: (o) => logs.push(o) }).then(
            () => "succeeded",
            (error: Error) => error.message,
        );
        // The command provider's message (remote/connection.go): "proxy: … ssh: handshake failed: ssh: host key mismatch".
        expect(failed).toMatch(/proxy: .*host key mismatch/);
        measured.push(
            `wrong bastion host key, the engine says: ${failed
                .split("\n")
                .filter((l) => /proxy:/.test(l))[0]
                ?.trim()}`,
        );
        const check = await runCheck(e, ["--stack", e.stack.name]);
        logs.push(check.stdout, check.stderr);
        expect(check.code).toBe(1);
        expect(check.stdout).toContain(`error: bastion 127.0.0.1:${relay.port}: host key mismatch`);
        measured.push(
            `wrong bastion host key, the check says: ${check.stdout
                .split("\n")
                .find((l) => l.includes("error:"))
                ?.trim()}`,
        );
        expect((await logins()).node).toBe(before.node);
        expect(await sudoApplies(node)).toBe(before.applies);
        expect(await fingerprints(node, MANAGED_FILES)).toEqual(before.files);
        // The right key again: whatever the failed run recorded, nothing is applied.
        await e.stack.setAllConfig(bastionConfig(jump, relay.port));
        const up = await e.stack.up({ onOutput: (o) => logs.push(o) });
        expect(up.summary.result).toBe("succeeded");
        expect(await sudoApplies(node)).toBe(before.applies);
        expect(await fingerprints(node, MANAGED_FILES)).toEqual(before.files);
    });

    it("no secret in the state, the engine's output or either host's logs", async () => {
        const jumpLogs = (await jump.exec("cat /var/log/*.log /var/log/standin/*.log 2>/dev/null; true")).stdout;
        const nodeLogs = (await node.exec("cat /var/log/*.log 2>/dev/null; true")).stdout;
        const sources = {
            "state export": await e.exportPlain(),
            "engine output": logs.join("\n"),
            "bastion sshd log": await readFile(join(jump.dir, "sshd.log"), "utf8"),
            "bastion logs": jumpLogs,
            "node sshd log": await readFile(join(node.dir, "sshd.log"), "utf8"),
            "node logs": nodeLogs,
        };
        expect(secretsIn(sources, { "client secret": SECRET }, [jump, node])).toEqual([]);
    });

    it("destroy goes through the bastion and restores the node", async () => {
        const before = await logins();
        const destroy = await e.stack.destroy();
        expect(destroy.summary.result).toBe("succeeded");
        expect((await node.exec("find /var/lib/posit-workbench-entra 2>/dev/null || echo gone")).stdout.trim()).toBe("gone");
        expect(await node.readFile("/etc/rstudio/rserver.conf")).not.toContain("auth-openid");
        const after = await logins();
        expect(after.node - before.node).toBeGreaterThan(0);
        expect(after.jump - before.jump).toBe(after.node - before.node);
    });
}

function bastionAdded() {
    let jump: Sandbox;
    let node: Sandbox;
    let e: EngineStack;
    const logins = async () => ({ jump: await sshConnections(jump), node: await sshConnections(node) });

    beforeAll(async () => {
        [jump, node] = await Promise.all([startSandbox(), startSandbox()]);
        e = await newStack(`bastionadd${process.pid}`);
        await e.stack.setAllConfig(hostConfig([node], SECRET));
        const up = await e.stack.up();
        expect(up.summary.result).toBe("succeeded");
    }, 240_000);
    afterAll(async () => {
        await Promise.all([jump?.stop(), node?.stop()]);
    });

    it("adding a bastion runs no step's apply: no file written, no restart; every connection goes through the bastion", async () => {
        const before = { ...(await logins()), applies: await sudoApplies(node), files: await fingerprints(node, MANAGED_FILES), state: await stateFiles(node) };
        await node.exec(": > /var/log/standin/systemctl.log");
        await e.stack.setAllConfig({ ...bastionConfig(jump, jump.port), [`${NS}:bastionPrivateKey`]: { value: jump.privateKey, secret: true } });
        const up = await e.stack.up();
        expect(up.summary.result).toBe("succeeded");
        expect(await sudoApplies(node)).toBe(before.applies);
        expect(countSequence(await systemctlCalls(node), RESTART_SEQUENCE)).toBe(0);
        expect(await fingerprints(node, MANAGED_FILES)).toEqual(before.files);
        expect(await stateFiles(node)).toBe(before.state);
        const after = await logins();
        expect(after.node - before.node).toBeGreaterThan(0);
        expect(after.jump - before.jump).toBe(after.node - before.node);
    });

    it("destroy afterwards goes through the bastion", async () => {
        const before = await logins();
        const destroy = await e.stack.destroy();
        expect(destroy.summary.result).toBe("succeeded");
        expect((await node.exec("find /var/lib/posit-workbench-entra 2>/dev/null || echo gone")).stdout.trim()).toBe("gone");
        const after = await logins();
        expect(after.node - before.node).toBeGreaterThan(0);
        expect(after.jump - before.jump).toBe(after.node - before.node);
    });
}
