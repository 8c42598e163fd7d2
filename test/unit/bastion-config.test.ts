/**
 * A bastion (jump host) and per-node login keys: the configuration's validation, and the command provider's
 * connection built from it (host/connection.ts).
 */
import { describe, expect, it } from "vitest";
import { secretFacts } from "../../config";
import { commandConnection } from "../../host/connection";
import { HOST_KEY } from "./program";
import { ed25519Key as edKey, parse, problems, withSshKey as withKey } from "./config-fixtures";

const wellFormedBastionKey = edKey(7);
const OTHER_HOST_KEY = edKey(9);
const bastion = { address: "10.0.0.4", port: 22, user: "jump", hostKey: wellFormedBastionKey };
const cluster = [
    { address: "10.1.0.5", port: 22, user: "azureuser", hostKey: HOST_KEY },
    { address: "10.1.0.6", port: 22, user: "ops", hostKey: OTHER_HOST_KEY },
];

describe("a bastion", () => {
    it("is reached through by every node, or a node's own bastion, or none for a node with bastion: false", () => {
        const own = { ...bastion, address: "10.2.0.4" };
        const c = parse({
            host: undefined,
            hosts: [cluster[0], { ...cluster[1], bastion: own }, { address: "10.1.0.7", hostKey: edKey(11), bastion: false }],
            bastion,
        });
        expect(c.hosts.map((h) => h.bastion?.address)).toEqual(["10.0.0.4", "10.2.0.4", undefined]);
        expect(c.bastion).toEqual(bastion);
    });

    it("defaults to port 22 and needs a user and a pinned host key, even with allowUnpinnedHostKey", () => {
        expect(parse({ bastion: { address: "bastion.example.com", user: "jump", hostKey: wellFormedBastionKey } }).hosts[0].bastion?.port).toBe(22);
        expect(problems({ bastion: { address: "10.0.0.4", user: "jump" }, allowUnpinnedHostKey: true })).toEqual([
            `posit-workbench-entra:bastion.hostKey: required: the bastion's host public key to pin ("ssh-keyscan -t ed25519 <bastion>"); allowUnpinnedHostKey does not apply to the bastion`,
        ]);
        expect(problems({ bastion: { address: "10.0.0.4", hostKey: wellFormedBastionKey } })).toEqual([
            expect.stringMatching(/^posit-workbench-entra:bastion.user: required: the login user on the bastion/),
        ]);
        expect(problems({ bastion: { ...bastion, hostKey: "ssh-ed25519 AAAA-placeholder" } })).toEqual([
            expect.stringMatching(/^posit-workbench-entra:bastion.hostKey: expected the host public key in authorized_keys format/),
        ]);
        expect(problems({ bastion: { ...bastion, address: "jump@10.0.0.4" } })).toEqual([
            expect.stringMatching(/^posit-workbench-entra:bastion.address: expected the SSH address of the bastion/),
        ]);
        expect(problems({ bastion: { ...bastion, proxyJump: "x" } })).toEqual([
            "posit-workbench-entra:bastion: unknown key(s) proxyJump; expected address, port, user, hostKey",
        ]);
        expect(problems({ host: { address: "10.0.0.5", hostKey: HOST_KEY, bastion: "10.0.0.4" } })).toEqual([
            expect.stringMatching(/^posit-workbench-entra:host.bastion: expected a bastion \{ address, port, user, hostKey \}, or false/),
        ]);
    });

    it("takes bastionPrivateKey or, without it, sshPrivateKey; with neither, one error names bastionPrivateKey", () => {
        expect(() => parse({ bastion }, { ...withKey, sshPrivateKey: true })).not.toThrow();
        expect(() => parse({ bastion }, { sshPrivateKey: false, clientSecret: false, bastionPrivateKey: true, nodePrivateKeys: ["10.0.0.5"] })).not.toThrow();
        expect(problems({ bastion }, { sshPrivateKey: false, clientSecret: false, nodePrivateKeys: ["10.0.0.5"] })).toEqual([
            expect.stringMatching(/^posit-workbench-entra:bastionPrivateKey: required: the bastion's SSH private key/),
        ]);
    });
});

describe("per-node login users and keys", () => {
    it("keeps each node's user and names the nodePrivateKeys entry each node logs in with (address:port before address)", () => {
        const c = parse(
            { host: undefined, hosts: [...cluster, { address: "10.1.0.6", port: 2222, user: "ops", hostKey: wellFormedBastionKey }] },
            { ...withKey, nodePrivateKeys: ["10.1.0.6", "10.1.0.6:2222"] },
        );
        expect(c.hosts.map((h) => [h.user, h.privateKeyName])).toEqual([
            ["azureuser", undefined],
            ["ops", "10.1.0.6"],
            ["ops", "10.1.0.6:2222"],
        ]);
    });

    it("without sshPrivateKey, names the one node that has no key of its own (one error)", () => {
        expect(problems({ host: undefined, hosts: cluster }, { sshPrivateKey: false, clientSecret: false, nodePrivateKeys: ["10.1.0.5"] })).toEqual([
            `posit-workbench-entra:hosts.1: node2 (10.1.0.6:22) has no SSH private key: set sshPrivateKey (every node without its own) or its own, pulumi config set --secret --path 'nodePrivateKeys["10.1.0.6"]' < key`,
        ]);
        expect(() =>
            parse({ host: undefined, hosts: cluster }, { sshPrivateKey: false, clientSecret: false, nodePrivateKeys: ["10.1.0.5", "10.1.0.6"] }),
        ).not.toThrow();
    });

    it("refuses an entry that names no node, and a nodePrivateKeys that is not a map of keys", () => {
        expect(problems({}, { ...withKey, nodePrivateKeys: ["10.9.9.9"] })).toEqual([
            "posit-workbench-entra:nodePrivateKeys.10.9.9.9: names no node; expected the address (or address:port) of one of 10.0.0.5:22",
        ]);
        expect(problems({}, secretFacts({ nodePrivateKeys: ["a key"] }, { sshPrivateKey: true, clientSecret: false }))).toEqual([
            expect.stringMatching(/^posit-workbench-entra:nodePrivateKeys: expected a map of node address/),
        ]);
    });

    it("wants bastionPrivateKey and nodePrivateKeys stored as secrets", () => {
        const raw = { bastionPrivateKey: "k", nodePrivateKeys: { "10.0.0.5": "k" } };
        const facts = secretFacts(raw, { sshPrivateKey: true, clientSecret: false }, () => false);
        expect(facts.storedInClear).toEqual(["bastionPrivateKey", "nodePrivateKeys"]);
        expect(facts.nodePrivateKeys).toEqual(["10.0.0.5"]);
    });
});

describe("the command provider's connection", () => {
    const keys = { default: "default-key", bastion: "bastion-key", node: (n: string) => `key-of-${n}` };

    it("goes through connection.proxy with the bastion's user, key and pinned host key", () => {
        const c = parse({ bastion });
        expect(commandConnection(c.hosts[0], keys)).toEqual({
            host: "10.0.0.5",
            port: 22,
            user: "azureuser",
            privateKey: "default-key",
            hostKey: HOST_KEY,
            dialErrorLimit: 3,
            proxy: { host: "10.0.0.4", port: 22, user: "jump", privateKey: "bastion-key", hostKey: wellFormedBastionKey, dialErrorLimit: 3 },
        });
        // The bastion takes sshPrivateKey without bastionPrivateKey.
        expect(commandConnection(c.hosts[0], { ...keys, bastion: undefined }).proxy?.privateKey).toBe("default-key");
    });

    it("connects directly without a bastion, with the node's own key when it has one", () => {
        const c = parse({}, { ...withKey, nodePrivateKeys: ["10.0.0.5"] });
        const connection = commandConnection(c.hosts[0], keys);
        expect(connection).not.toHaveProperty("proxy");
        expect(connection.privateKey).toBe("key-of-10.0.0.5");
    });
});
