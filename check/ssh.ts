/**
 * One SSH connection to a node, as the program connects (same user, key and pinned host key), over
 * which every check runs as its own command. The npm package ssh2: commands share one connection
 * (one login, one sshd session on the host) and take their stdin from memory, so no secret touches a
 * file or an argv on this machine; the system OpenSSH client would need a control master and a
 * known_hosts file for the same.
 */
import type { Duplex } from "node:stream";
import { Client, ClientChannel } from "ssh2";
import { UserError } from "../errors";

export interface SshTarget {
    address: string;
    port: number;
    user: string;
    /** "ssh-ed25519 AAAA…" (authorized_keys format); absent only when the stack allows unpinned host keys. */
    hostKey?: string;
}

export interface CommandResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface SshSession {
    run(command: string, stdin?: string): Promise<CommandResult>;
    close(): void;
}

/** The key blob of an authorized_keys line, as the server presents it. */
const keyBlob = (line: string) => Buffer.from(line.trim().split(/\s+/)[1] ?? "", "base64");

/** `sock`: a stream to the node's sshd already open (through a bastion, check/hops.ts) instead of a TCP connection. */
export function connect(target: SshTarget, privateKey: string, name: string, timeoutMs = 15_000, sock?: Duplex): Promise<SshSession> {
    const client = new Client();
    return new Promise((resolve, reject) => {
        let presented: Buffer | undefined;
        client
            .on("ready", () =>
                resolve({
                    run: (command, stdin) => run(client, command, stdin),
                    close: () => client.end(),
                }),
            )
            .on("error", (error) => {
                const mismatch = presented !== undefined && target.hostKey !== undefined;
                reject(
                    new UserError(
                        mismatch
                            ? `${name}: the host key does not match the pinned hostKey (re-check it with ssh-keyscan -t ed25519 -p ${target.port} ${target.address})`
                            : `${name}: cannot connect over SSH as ${target.user}: ${error.message}`,
                    ),
                );
            })
            .connect({
                host: target.address,
                port: target.port,
                username: target.user,
                privateKey,
                readyTimeout: timeoutMs,
                ...(sock ? { sock } : {}),
                hostVerifier: (key: Buffer) => {
                    presented = key;
                    return target.hostKey === undefined || key.equals(keyBlob(target.hostKey));
                },
            });
    });
}

function run(client: Client, command: string, stdin?: string): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
            if (error) return reject(error);
            const stdout: Buffer[] = [];
            const stderr: Buffer[] = [];
            channel.on("data", (d: Buffer) => stdout.push(d));
            channel.stderr.on("data", (d: Buffer) => stderr.push(d));
            channel.on("close", (code: number | null) =>
                resolve({ code: code ?? 255, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }),
            );
            channel.end(stdin ?? "");
        });
    });
}
