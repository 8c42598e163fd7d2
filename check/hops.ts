/**
 * `npm run check` behind a bastion: one ssh2 connection to each bastion, shared by the nodes behind it, and
 * over it one direct-tcpip channel (`forwardOut`) per node, on which the node's own SSH connection runs
 * (check/ssh.ts, with the node's user, key and pinned host key). ssh2 rather than the system client with
 * ProxyJump: the node connections already are ssh2's (stdin from memory, no key or known_hosts file
 * written on this machine), both hops are pinned by comparing the presented key with the configured one,
 * and a failure is known by hop (the bastion's handshake, the bastion's TCP connection to the node, the
 * node's handshake), so the error names it. The command provider does the same (connection.proxy).
 */
import type { Duplex } from "node:stream";
import { Client } from "ssh2";
import { UserError } from "../errors";
import { Bastion, bastionId, bastionKey, bastionName, Hop, LoginKeys, nodeKey } from "../host/connection";
import { connect, SshSession } from "./ssh";

const keyBlob = (line: string) => Buffer.from(line.trim().split(/\s+/)[1] ?? "", "base64");

/** One connection to a bastion, pinned to its host key; errors name it ("bastion 10.0.0.4:22: …"). */
export function openBastion(bastion: Bastion, privateKey: string, timeoutMs = 15_000): Promise<Client> {
    const client = new Client();
    const name = bastionName(bastion);
    return new Promise((resolve, reject) => {
        let mismatch = false;
        client
            .on("ready", () => resolve(client))
            .on("error", (error) =>
                reject(
                    new UserError(
                        mismatch
                            ? `${name}: host key mismatch: it presented a key other than the pinned bastion.hostKey (re-check it with ssh-keyscan -t ed25519 -p ${bastion.port} ${bastion.address}); nothing was run on the nodes behind it`
                            : `${name}: cannot connect over SSH as ${bastion.user}: ${error.message}`,
                    ),
                ),
            )
            .connect({
                host: bastion.address,
                port: bastion.port,
                username: bastion.user,
                privateKey,
                readyTimeout: timeoutMs,
                hostVerifier: (key: Buffer) => {
                    mismatch = !key.equals(keyBlob(bastion.hostKey));
                    return !mismatch;
                },
            });
    });
}

/** A TCP connection from the bastion to the node's SSH port; errors name the node and the hop. */
export function forwardTo(bastion: Client, via: Bastion, target: Hop, name: string): Promise<Duplex> {
    return new Promise((resolve, reject) =>
        bastion.forwardOut("127.0.0.1", 0, target.address, target.port, (error, stream) => {
            if (!error) return resolve(stream);
            // OpenSSH's sshd answers a failed connect with strerror ("Connection refused"); "(SSH) Channel open failure: " is ssh2's.
            const why = error.message.replace(/^\(SSH\) Channel open failure: /, "").toLowerCase();
            reject(
                new UserError(
                    `${name} via bastion: ${why} (${bastionName(via)} could not open a TCP connection to ${target.address}:${target.port}; is TCP forwarding allowed there, and the node's sshd listening?)`,
                ),
            );
        }),
    );
}

/** The bastions of one check: each opened once, on first use, closed at the end. */
export class Hops {
    private readonly bastions = new Map<string, Promise<Client>>();

    constructor(private readonly keys: LoginKeys<string>) {}

    /** One SSH session on the node: directly, or through its bastion's shared connection. */
    async connect(target: Hop & { privateKeyName?: string }, name: string): Promise<SshSession> {
        const privateKey = nodeKey(target, this.keys);
        if (!target.bastion) return connect(target, privateKey, name);
        const via = target.bastion;
        let bastion = this.bastions.get(bastionId(via));
        if (!bastion) {
            bastion = openBastion(via, bastionKey(this.keys));
            this.bastions.set(bastionId(via), bastion);
        }
        const sock = await forwardTo(await bastion, via, target, name);
        return connect(target, privateKey, `${name} via bastion`, undefined, sock);
    }

    close(): void {
        for (const bastion of this.bastions.values())
            bastion.then(
                (c) => c.end(),
                () => undefined,
            );
    }
}
