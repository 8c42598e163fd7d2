import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostCommand, HostStep } from "../host/commands";
import { MANAGED_RSERVER_KEYS, renderSettings, RserverSettings } from "../host/settings";

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

        const step = (
            id: HostStep,
            env: pulumi.Input<Record<string, string>>,
            dependsOn: pulumi.Resource[],
            extra: Partial<command.remote.CommandArgs> = {},
            secretOutput = false,
        ) => {
            const commands = pulumi.output(env).apply((vars) => ({
                create: hostCommand(id, "apply", vars),
                delete: hostCommand(id, "remove", vars),
            }));
            return new command.remote.Command(
                `${name}-${id}`,
                { connection, triggers, create: commands.create, delete: commands.delete, ...extra },
                {
                    parent: this,
                    dependsOn,
                    // Its delete undoes its create at the same paths: never let an old copy's delete run after a new copy's create.
                    deleteBeforeReplace: true,
                    ...(secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
                },
            );
        };

        const preflight = step("preflight", {}, []);
        const clientSecret = step("client-secret", pulumi.output(args.clientId).apply((id) => ({ WB_CLIENT_ID: id })), [preflight], {
            stdin: pulumi.secret(pulumi.interpolate`${args.clientSecret}\n`),
        });
        const rserverConf = step(
            "rserver-conf",
            pulumi.output(args.settings).apply((settings) => ({
                WB_STACK: args.stack,
                WB_MANAGED_KEYS: MANAGED_RSERVER_KEYS.join(" "),
                WB_SETTINGS: renderSettings(settings),
            })),
            [clientSecret],
        );
        const homeDirectories = step("home-directories", {}, [preflight]);
        const nss = step("nss", {}, [homeDirectories]);
        const nscd = step("nscd", {}, [preflight]);
        const configured = [clientSecret, rserverConf, homeDirectories, nss, nscd];

        // Runs again whenever any step's inputs change (the digest travels on stdin, secret because
        // it covers the client secret); restarts only when a step reported a change Workbench reads.
        const digest = pulumi
            .all(configured.map((c) => pulumi.all([c.create, c.stdin])))
            .apply((inputs) => createHash("sha256").update(JSON.stringify(inputs)).digest("hex"));
        const restart = step("restart", {}, configured, { stdin: pulumi.secret(digest) });

        if (args.scimTokenDays !== undefined) {
            const token = step(
                "scim-token",
                { WB_TOKEN_NAME: `Entra ID User Provisioning Token (pulumi ${args.stack})`, WB_TOKEN_DAYS: String(args.scimTokenDays) },
                [restart],
                { logging: "none" },
                true,
            );
            this.scimToken = pulumi.secret(token.stdout);
        }

        this.osFamily = preflight.stdout.apply((out) => /os-family=(\w+)/.exec(out)?.[1] ?? "unknown");
        this.registerOutputs({ osFamily: this.osFamily });
    }
}
