/**
 * How the program names nodes, step resources and their commands: pure, so `npm run check` reads a stack's
 * state without loading the Pulumi SDK (the WorkbenchCluster component re-exports these).
 */
import { stepCommand } from "./commands";
import type { Bastion } from "./connection";
import type { PlannedStep } from "./plan";
import { HOST_STEP_SPECS, HostStep, releaseDigest } from "./steps";

export interface SshTarget {
    /** SSH address of the Workbench server. */
    address: string;
    /** SSH port. */
    port: number;
    /** Login user with passwordless sudo. */
    user: string;
    /** Host public key (authorized_keys format) pinned for every connection; undefined only when the stack opted out. */
    hostKey?: string;
    /** The bastion the node is reached through; undefined: directly (host/connection.ts). */
    bastion?: Bastion;
    /** The nodePrivateKeys entry the node logs in with; undefined: sshPrivateKey. */
    privateKeyName?: string;
}

/** A name for a node in messages. */
export const nodeName = (target: SshTarget, index: number) => `node${index + 1} (${target.address}:${target.port})`;

/**
 * The resource name of a step. Per-node steps are named after the node's address, not its place in
 * the list: removing a node from the middle of `hosts` then deletes only that node's steps instead
 * of shifting the others onto hosts another step already manages. The steps that run once, on the
 * first node, are named after the cluster.
 */
export function stepResourceName(name: string, step: PlannedStep, target: SshTarget): string {
    if (HOST_STEP_SPECS[step.id].runsOn === "cluster") return `${name}-${step.id}`;
    return `${name}-${nodePart(target)}-${step.id}`;
}

const nodePart = (target: SshTarget) => `${target.address}-${target.port}`.replace(/[^A-Za-z0-9]+/g, "-");

/** The resource that installs the step scripts on a node: named after the steps' versions (see host/steps.ts). */
export const scriptsResourceName = (name: string, target: SshTarget) => `${name}-${nodePart(target)}-scripts-${releaseDigest()}`;

/** The resource that removes the stack's step scripts from a node, after the node's last step. */
export const scriptsRemovalName = (name: string, target: SshTarget) => `${name}-${nodePart(target)}-scripts-removal`;

/** A step's three commands, as its resource holds them (`npm run check` compares the state with these). */
export function stepCommands(id: HostStep, env: Record<string, string> & { WB_STACK: string }) {
    return { create: stepCommand(id, "apply", env), update: stepCommand(id, "update", env), delete: stepCommand(id, "remove", env) };
}
