/**
 * A private network for the bastion tests: a network namespace of its own (only its loopback, up), made with
 * `unshare --net` and held by a `sleep` this module starts and stops. Sandboxes started in it
 * (SandboxOptions.netns) listen on its 127.0.0.1, which this machine's 127.0.0.1 does not reach. One port
 * is let in: `expose` relays a port of this machine's 127.0.0.1 to a port inside, as a firewall lets the
 * runner reach the bastion and nothing else. No address outside loopback is used, here or inside.
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./sandbox";

export interface PrivateNetwork {
    /** /proc/<pid>/ns/net, for SandboxOptions.netns. */
    path: string;
    /** Relays 127.0.0.1:<returned port> on this machine to 127.0.0.1:<port> inside; counts the connections. */
    expose(port: number): Promise<{ port: number; connections: () => number }>;
    stop(): Promise<void>;
}

/** Inside the namespace: a relay from a Unix socket (a path both sides see) to 127.0.0.1:<port>. */
const INSIDE_RELAY = `
const net = require("node:net");
const [socket, port] = process.argv.slice(1);
net.createServer((c) => { const t = net.connect(Number(port), "127.0.0.1"); c.pipe(t).pipe(c); t.on("error", () => c.destroy()); c.on("error", () => t.destroy()); })
  .listen(socket, () => console.log("ready"));
`;

export async function privateNetwork(): Promise<PrivateNetwork> {
    const holder = spawn("unshare", ["--net", "--", "sh", "-c", "ip link set lo up && echo up && exec sleep infinity"], {
        stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
        holder.stdout!.once("data", () => resolve());
        holder.once("exit", (code) => reject(new Error(`unshare --net failed (${code})`)));
    });
    const path = `/proc/${holder.pid}/ns/net`;
    const dir = await mkdtemp(join(tmpdir(), "wb-netns-"));
    const relays: Array<{ inside: ChildProcess; outside: Server }> = [];
    return {
        path,
        async expose(port) {
            const socket = join(dir, `relay-${port}.sock`);
            const inside = spawn("nsenter", [`--net=${path}`, "--", process.execPath, "-e", INSIDE_RELAY, socket, String(port)], {
                stdio: ["ignore", "pipe", "inherit"],
            });
            await new Promise<void>((resolve, reject) => {
                inside.stdout!.once("data", () => resolve());
                inside.once("exit", (code) => reject(new Error(`relay into the namespace failed (${code})`)));
            });
            let count = 0;
            const outside = createServer((c) => {
                count++;
                const t = createConnection(socket);
                c.pipe(t).pipe(c);
                t.on("error", () => c.destroy());
                c.on("error", () => t.destroy());
            });
            const outer = await freePort();
            await new Promise<void>((resolve) => outside.listen(outer, "127.0.0.1", resolve));
            relays.push({ inside, outside });
            return { port: outer, connections: () => count };
        },
        async stop() {
            for (const { inside, outside } of relays) {
                outside.close();
                inside.kill();
            }
            holder.kill();
            await rm(dir, { recursive: true, force: true });
        },
    };
}

/** Whether a TCP connection to 127.0.0.1:<port> from this machine's own network succeeds. */
export function reachable(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const c = createConnection(port, "127.0.0.1");
        c.once("connect", () => (c.destroy(), resolve(true)));
        c.once("error", () => resolve(false));
    });
}
