import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostCommand, HostStep } from "../host/commands";
import { hostSteps, stepEnv } from "../host/plan";
import { RserverSettings } from "../host/settings";

/**
 * A digest of the given steps' inputs, sent on the restart step's stdin: it makes the restart run
 * again whenever any of them changes. Secret, because it covers the client secret.
 */
function digestOf(steps: command.remote.Command[]): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.all(steps.map((c) => pulumi.all([c.create, c.stdin]))).apply((inputs) => createHash("sha256").update(JSON.stringify(inputs)).digest("hex")),
    );
}

export interface SshTarget {
    /** SSH address of the Workbench server. */
    address: string;
    /** SSH port. */
    port: number;
    /** Login user with passwordless sudo. */
    user: string;
    /** Host public key (authorized_keys format) pinned for every connection; undefined only when the stack opted out. */
    hostKey?: string;
}

export interface WorkbenchHostArgs {
    target: SshTarget;
    /** The SSH private key (a Pulumi secret). */
    privateKey: pulumi.Input<string>;
    /** The Pulumi stack, named in rserver.conf's managed block and in the SCIM token's name. */
    stack: string;
    /** The application (client) id. */
    clientId: pulumi.Input<string>;
    /** The client secret (a Pulumi secret); it reaches the host on stdin only. */
    clientSecret: pulumi.Input<string>;
    /** The managed rserver.conf keys and values. */
    settings: pulumi.Input<RserverSettings>;
    /** Generate a SCIM bearer token on the host, valid this many days; undefined for JIT. */
    scimTokenDays?: number;
}

/**
 * Posit Workbench configured over SSH: preflight, encrypted client secret, rserver.conf, PAM home
 * directories, the pwb NSS module, NSCD, at most one restart with a health check, and for SCIM the
 * bearer token. Every step is convergent and its delete restores what its create changed.
 */
export class WorkbenchHost extends pulumi.ComponentResource {
    /** "debian" or "rhel", as found by the preflight. */
    readonly osFamily: pulumi.Output<string>;
    /** The SCIM bearer token (a Pulumi secret), when SCIM provisioning is on. */
    readonly scimToken?: pulumi.Output<string>;

    constructor(name: string, args: WorkbenchHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workbench:host:WorkbenchHost", name, {}, opts);
        const connection: command.types.input.remote.ConnectionArgs = {
            host: args.target.address,
            port: args.target.port,
            user: args.target.user,
            privateKey: args.privateKey,
            hostKey: args.target.hostKey,
            dialErrorLimit: 3,
        };
        // Pointing the stack at another host replaces every step: the old host is restored first.
        const triggers = [`${args.target.address}:${args.target.port}`];

        const values = pulumi.all([args.clientId, args.settings]).apply(([clientId, settings]) => ({
            clientId,
            settings,
            stack: args.stack,
            scimTokenDays: args.scimTokenDays,
        }));
        const created = new Map<HostStep, command.remote.Command>();
        for (const spec of hostSteps(args.scimTokenDays !== undefined)) {
            const commands = values.apply((v) => {
                const env = stepEnv(spec.id, v);
                return { create: hostCommand(spec.id, "apply", env), delete: hostCommand(spec.id, "remove", env) };
            });
            const dependsOn = spec.after.map((id) => created.get(id)!);
            created.set(
                spec.id,
                new command.remote.Command(
                    `${name}-${spec.id}`,
                    {
                        connection,
                        triggers,
                        create: commands.create,
                        delete: commands.delete,
                        stdin: spec.stdin === "client-secret" ? pulumi.secret(pulumi.interpolate`${args.clientSecret}\n`) : spec.stdin === "digest" ? digestOf(dependsOn) : undefined,
                        ...(spec.secretOutput ? { logging: "none" } : {}),
                    },
                    {
                        parent: this,
                        dependsOn,
                        // Its delete undoes its create at the same paths: never let an old copy's delete run after a new copy's create.
                        deleteBeforeReplace: true,
                        ...(spec.secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
                    },
                ),
            );
        }

        const token = created.get("scim-token");
        if (token) this.scimToken = pulumi.secret(token.stdout);
        const preflight = created.get("preflight")!;
        this.osFamily = preflight.stdout.apply((out) => /os-family=(\w+)/.exec(out)?.[1] ?? "unknown");
        this.registerOutputs({ osFamily: this.osFamily });
    }
}
