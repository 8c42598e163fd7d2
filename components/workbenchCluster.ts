import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { installScriptsCommand, removeScriptsCommand, scriptsBundle } from "../host/commands";
import { HostValues, nodeOwner, planHostSteps, PlannedStep, checksSharedKey, reviewedSteps, sharedKeyHash, stepEnv, StepRef, plannedStdin } from "../host/plan";
import { RserverSettings } from "../host/settings";
import { HOST_STEP_SPECS } from "../host/steps";
import { commandConnection, LoginKeys } from "../host/connection";

import { nodeName, scriptsRemovalName, scriptsResourceName, SshTarget, stepCommands, stepResourceName } from "../host/names";

export type { SshTarget } from "../host/names";
export { nodeName, scriptsRemovalName, scriptsResourceName, stepCommands, stepResourceName } from "../host/names";

export interface WorkbenchClusterArgs {
    /** One server, or every node of a load-balanced cluster (the first one encrypts the secret and holds the SCIM token). */
    targets: SshTarget[];
    /** The SSH private key (a Pulumi secret) of every node and bastion without its own; undefined when each has its own. */
    privateKey?: pulumi.Input<string>;
    /** The bastion's private key (a Pulumi secret), when it is not `privateKey`. */
    bastionPrivateKey?: pulumi.Input<string>;
    /** Nodes' own private keys (a Pulumi secret), by the names the targets' `privateKeyName` give. */
    nodePrivateKeys?: pulumi.Input<Record<string, string>>;
    /** The Pulumi stack, named in rserver.conf's managed block and in the SCIM token's name. */
    stack: string;
    /** The application (client) id. */
    clientId: pulumi.Input<string>;
    /** The client secret (a Pulumi secret); it reaches the host on stdin only. */
    clientSecret: pulumi.Input<string>;
    /** The managed rserver.conf keys and values, the same on every node. */
    settings: pulumi.Input<RserverSettings>;
    /** Generate a SCIM bearer token on the first node, valid this many days; undefined for JIT. */
    scimTokenDays?: number;
    /** JIT provisioning of groups: the preflight asks for Workbench 2025.09.0 or later. */
    jitGroups?: boolean;
    /** When this value changes the SCIM token is replaced: revoked, then generated anew (e.g. a `time.Rotating` id). */
    scimTokenRotation?: pulumi.Input<string>;
}

/**
 * Posit Workbench configured over SSH on one server or every node of a cluster: preflight (and the
 * shared secure-cookie-key check), the client secret encrypted once with Workbench's own tool,
 * rserver.conf, PAM home directories, the pwb NSS module, NSCD, then one node at a time at most
 * one restart with a health check; for SCIM the bearer token. Every step is convergent and its
 * delete restores what its create changed.
 */
export class WorkbenchCluster extends pulumi.ComponentResource {
    /** "debian" or "rhel" per node, as found by the preflights. */
    readonly osFamilies: pulumi.Output<string[]>;
    /** The SCIM bearer token (a Pulumi secret), when SCIM provisioning is on. */
    readonly scimToken?: pulumi.Output<string>;

    constructor(name: string, args: WorkbenchClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // Known before any host is reached: the commands carry them, and the component's inputs show
        // them to a reviewer of a preview, each value on its own line.
        const values = hostValues(args);
        const reviewed = {
            nodes: args.targets.map(
                (t) => `${t.user}@${t.address}:${t.port}${t.bastion ? ` via ${t.bastion.user}@${t.bastion.address}:${t.bastion.port}` : ""}`,
            ),
            steps: values.apply((v) => reviewedSteps(v, args.scimTokenDays !== undefined)),
        };
        super("workbench:host:WorkbenchCluster", name, reviewed, opts);
        const created = new Map<string, command.remote.Command>();
        const key = (ref: StepRef) => `${ref.node}/${ref.id}`;
        const get = (ref: StepRef) => created.get(key(ref))!;
        const preflightOf = (node: number) => get({ node, id: "preflight" });

        let keyHash: pulumi.Output<string> | undefined;
        /** The secure-cookie-key hash every node shares, once every preflight has run (throws, naming the odd node, otherwise). */
        const sharedKey = () => {
            const names = args.targets.map(nodeName);
            keyHash ??= pulumi
                .all(args.targets.map((_, node) => preflightOf(node).stdout))
                .apply((outs) => sharedKeyHash(outs.map((preflight, i) => ({ name: names[i], preflight }))));
            return keyHash;
        };
        /** The step's own input: only the one its kind reads, so that the step depends on nothing else. */
        const inputOf = (step: PlannedStep, dependsOn: command.remote.Command[]): pulumi.Output<string | undefined> => {
            switch (step.stdin) {
                case "client-secret":
                    return pulumi.secret(pulumi.output(args.clientSecret));
                case "encrypted-client-secret":
                    return pulumi.secret(get({ node: 0, id: "encrypt-client-secret" }).stdout);
                case "digest":
                    return digestOf(dependsOn);
                default:
                    return pulumi.output(undefined);
            }
        };
        const stdinFor = (step: PlannedStep, dependsOn: command.remote.Command[]): pulumi.Input<string> | undefined => {
            if (!checksSharedKey(step.id) && !step.stdin) return undefined;
            return pulumi
                .all([sharedKey(), preflightOf(step.node).id, inputOf(step, dependsOn)])
                .apply(([hash, preflightId, value]) => plannedStdin(step, hash, preflightId, value)!);
        };

        // Directly, or through the node's bastion (connection.proxy), both host keys pinned (host/connection.ts).
        const keys: LoginKeys<pulumi.Input<string>> = {
            default: args.privateKey,
            bastion: args.bastionPrivateKey,
            node: (keyName) => pulumi.secret(pulumi.output(args.nodePrivateKeys ?? {}).apply((all) => all[keyName])),
        };
        const connectionTo = (target: SshTarget) => commandConnection(target, keys);
        // Each node's step scripts, installed once for each release of the steps (a new version of a step is a new
        // resource). It never runs again: a change of its text alone (comments, a refactoring) is not a new
        // version, and it has nothing to undo (the preflight's remove deletes the scripts last).
        const scripts = args.targets.map(
            (target) =>
                new command.remote.Command(
                    scriptsResourceName(name, target),
                    { connection: connectionTo(target), create: installScriptsCommand(args.stack), stdin: scriptsBundle() },
                    { parent: this, ignoreChanges: ["create", "stdin", "connection"] },
                ),
        );
        // Only a delete, run after every step of the node is removed: with no create and no update it never runs
        // anything before that, and a new connection is only recorded for it.
        const scriptsRemoval = args.targets.map(
            (target) =>
                new command.remote.Command(
                    scriptsRemovalName(name, target),
                    { connection: connectionTo(target), delete: removeScriptsCommand(args.stack, nodeOwner(args.stack, target)) },
                    { parent: this },
                ),
        );

        for (const step of planHostSteps(args.targets.length, args.scimTokenDays !== undefined)) {
            const target = args.targets[step.node];
            const env = values.apply((v) => stepEnv(step.id, v, nodeOwner(args.stack, target)) as Record<string, string> & { WB_STACK: string });
            const dependsOn = step.after.map(get);
            const commands = env.apply((e) => stepCommands(step.id, e));
            const resource = new command.remote.Command(
                stepResourceName(name, step, target),
                {
                    // A new SSH key, login user, host key or bastion is an update: it runs the steps' `update`, which changes
                    // nothing on a host when nothing else changed (see host/main.sh).
                    connection: connectionTo(target),
                    // The steps that run once follow the first node: they are replaced, old copy first, when it changes.
                    triggers: [`${target.address}:${target.port}`],
                    create: commands.create,
                    update: commands.update,
                    delete: commands.delete,
                    stdin: stdinFor(step, dependsOn),
                    // Otherwise the provider sends the previous stdout (the token, the encrypted secret) as PULUMI_COMMAND_STDOUT.
                    addPreviousOutputInEnv: false,
                    ...(step.secretOutput ? { logging: "none" as const } : {}),
                },
                {
                    parent: this,
                    dependsOn: [...dependsOn, scripts[step.node], scriptsRemoval[step.node]],
                    // A step's delete undoes its create at the same paths: never let an old copy's delete run after a
                    // new copy's create (StepSpec.deleteBeforeReplace).
                    deleteBeforeReplace: HOST_STEP_SPECS[step.id].deleteBeforeReplace,
                    ...(step.secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
                },
            );
            created.set(key(step), resource);
        }

        const token = created.get(key({ node: 0, id: "scim-token" }));
        if (token) this.scimToken = pulumi.secret(token.stdout);
        this.osFamilies = pulumi
            .all(args.targets.map((_, node) => preflightOf(node).stdout))
            .apply((outs) => outs.map((out) => /os-family=(\w+)/.exec(out)?.[1] ?? "unknown"));
        this.registerOutputs({ osFamilies: this.osFamilies });
    }
}

function hostValues(args: WorkbenchClusterArgs): pulumi.Output<HostValues> {
    return pulumi.all([args.clientId, args.settings, args.scimTokenRotation]).apply(([clientId, settings, scimTokenRotation]) => ({
        clientId,
        settings,
        stack: args.stack,
        scimTokenDays: args.scimTokenDays,
        jitGroups: args.jitGroups,
        scimTokenRotation,
    }));
}

/**
 * A digest of the given steps' inputs, sent on a restart step's stdin: it makes the restart run
 * again whenever any of them changes. Secret, because it covers the encrypted client secret.
 */
function digestOf(steps: command.remote.Command[]): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.all(steps.map((c) => pulumi.all([c.create, c.stdin]))).apply((inputs) => createHash("sha256").update(JSON.stringify(inputs)).digest("hex")),
    );
}
