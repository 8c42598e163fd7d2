/**
 * The program behind a bastion, under Pulumi mocks: every host command's connection goes through
 * connection.proxy with the bastion's pinned host key and its own key; per-node keys reach only their node;
 * a node without a key stops the preview with one error naming it.
 */
import { describe, expect, it } from "vitest";
import { baseConfig, HOST_KEY, isSecretValue, reveal, runProgram } from "./program";

const edKey = (fill: number) =>
    `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, fill)]).toString("base64")}`;
const BASTION_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nbastion-private-key-body\n-----END OPENSSH PRIVATE KEY-----";
const NODE2_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnode2-private-key-body\n-----END OPENSSH PRIVATE KEY-----";
const bastion = { address: "10.0.0.4", port: 22, user: "jump", hostKey: edKey(7) };
const hosts = [
    { address: "10.1.0.5", port: 22, user: "azureuser", hostKey: HOST_KEY },
    { address: "10.1.0.6", port: 22, user: "ops", hostKey: edKey(9) },
];

function clusterConfig(extra: Record<string, unknown>): Record<string, unknown> {
    const { host: _host, ...config } = baseConfig();
    return { ...config, hosts, bastion, ...extra };
}

describe("a cluster behind a bastion", () => {
    it("connects every host command through the bastion, pinned, each node with its user and key", async () => {
        const { resources } = await runProgram(clusterConfig({ bastionPrivateKey: BASTION_KEY, nodePrivateKeys: { "10.1.0.6": NODE2_KEY } }));
        const commands = resources.filter((r) => r.type === "command:remote:Command");
        expect(commands.length).toBeGreaterThan(0);
        for (const c of commands) {
            const connection = reveal(c.inputs.connection);
            expect(connection.proxy, c.name).toMatchObject({ host: "10.0.0.4", port: 22, user: "jump", hostKey: bastion.hostKey });
            expect(reveal(connection.proxy.privateKey), c.name).toBe(BASTION_KEY);
            const node2 = connection.host === "10.1.0.6";
            expect(connection.user, c.name).toBe(node2 ? "ops" : "azureuser");
            expect(reveal(connection.privateKey), c.name).toBe(node2 ? NODE2_KEY : baseConfig().sshPrivateKey);
        }
        // The keys stay secrets in the resources' inputs.
        const first = commands[0].inputs.connection;
        expect(isSecretValue(first) || isSecretValue(first.privateKey)).toBe(true);
    });

    it("stops a preview with one error naming the node that has no key", async () => {
        const { sshPrivateKey: _key, ...config } = clusterConfig({ bastionPrivateKey: BASTION_KEY, nodePrivateKeys: { "10.1.0.6": NODE2_KEY } });
        const attempt = runProgram(config, { preview: true });
        await expect(attempt).rejects.toThrow(/posit-workbench-entra:hosts\.0: node1 \(10\.1\.0\.5:22\) has no SSH private key/);
        await expect(attempt).rejects.not.toThrow(/node2|private-key-body/);
    });
});
