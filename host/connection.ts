/**
 * How the program and `npm run check` reach a node: directly, or through a bastion (an SSH jump host),
 * both hops' host keys pinned; and which private key logs in to each hop. Pure, shared by the
 * WorkbenchCluster component (the command provider's `connection`, with `connection.proxy` for the
 * bastion) and the check (ssh2, `forwardOut` over one shared connection to the bastion).
 *
 * The command provider (pulumi-resource-command 1.2.1, provider/pkg/provider/remote/connection.go)
 * dials the proxy with the proxy's own SSH config, whose `hostKey` is checked with
 * ssh.FixedHostKey exactly as the node's, then opens a direct-tcpip channel to the node's
 * address:port from the bastion and runs the node's SSH handshake over it.
 */

/** A bastion: the stack's `bastion`, or a node's own. Its host key is always pinned. */
export interface Bastion {
    address: string;
    port: number;
    user: string;
    /** authorized_keys format ("ssh-ed25519 AAAA…"). */
    hostKey: string;
}

/** The parts of a node this module reads. */
export interface Hop {
    address: string;
    port: number;
    user: string;
    hostKey?: string;
    /** Reached through this bastion; undefined: directly. */
    bastion?: Bastion;
}

/** A bastion in messages: "bastion 10.0.0.4:22". */
export const bastionName = (bastion: Bastion) => `bastion ${bastion.address}:${bastion.port}`;

/** One key per bastion (several nodes may share it; `npm run check` opens one connection to each). */
export const bastionId = (bastion: Bastion) => `${bastion.user}@${bastion.address}:${bastion.port}`;

/**
 * The entry of `nodePrivateKeys` that logs in to this node: "<address>:<port>" (two nodes on one address) or
 * "<address>"; undefined when there is none (the node uses sshPrivateKey).
 */
export function privateKeyName(target: { address: string; port: number }, names: readonly string[]): string | undefined {
    const exact = `${target.address}:${target.port}`.toLowerCase();
    return names.find((n) => n.toLowerCase() === exact) ?? names.find((n) => n.toLowerCase() === target.address.toLowerCase());
}

/** The private keys a stack logs in with: the default, a bastion's, and per node (by nodePrivateKeys' entry names). */
export interface LoginKeys<K> {
    /** sshPrivateKey: every node and bastion without its own. Undefined when each has its own. */
    default?: K;
    /** bastionPrivateKey. */
    bastion?: K;
    /** nodePrivateKeys' entries. */
    node: (name: string) => K;
}

/** The key that logs in to a node (its nodePrivateKeys entry, else sshPrivateKey). */
export function nodeKey<K>(target: Hop & { privateKeyName?: string }, keys: LoginKeys<K>): K {
    return target.privateKeyName !== undefined ? keys.node(target.privateKeyName) : keys.default!;
}

/** The key that logs in to a bastion (bastionPrivateKey, else sshPrivateKey). */
export const bastionKey = <K>(keys: LoginKeys<K>): K => keys.bastion ?? keys.default!;

/**
 * The command provider's `connection` for a node: its own address, user and pinned host key and, behind a
 * bastion, `proxy` with the bastion's (ProxyConnection: host, port, user, privateKey, hostKey).
 */
export function commandConnection<K>(target: Hop & { privateKeyName?: string }, keys: LoginKeys<K>) {
    return {
        host: target.address,
        port: target.port,
        user: target.user,
        privateKey: nodeKey(target, keys),
        hostKey: target.hostKey,
        dialErrorLimit: 3,
        ...(target.bastion
            ? {
                  proxy: {
                      host: target.bastion.address,
                      port: target.bastion.port,
                      user: target.bastion.user,
                      privateKey: bastionKey(keys),
                      hostKey: target.bastion.hostKey,
                      dialErrorLimit: 3,
                  },
              }
            : {}),
    };
}
