/**
 * npm run check -- --stack <name> [--node <address>] [--json]
 *
 * What `pulumi up` would change on each Workbench node of a stack, and any drift since it last ran:
 * reads the stack's configuration, secrets and state with the `pulumi` CLI (whatever backend and
 * secrets provider the stack uses; run it where `pulumi` works for that stack), then checks every node
 * over one SSH connection, writing nothing. Exit 0: in sync; 2: changes, drift or a failed
 * verification; 1: a node could not be checked, or the stack's configuration is wrong.
 */
import { execFile } from "node:child_process";
import { parseArgs, promisify } from "node:util";
import { parseConfig, projectConfig, secretFacts } from "../config";
import type { CheckSection } from "./entra";
import { CheckReport, exitCode, renderText, summary } from "./report";
import { checkStack, StateStep } from "./run";

const USAGE = "usage: npm run check -- --stack <name> [--node <address>] [--json]";

/** A value from `pulumi stack export --show-secrets`: secrets come as { plaintext: "<JSON>" }. */
function plain(value: unknown): string | undefined {
    if (typeof value === "string") return value;
    if (value && typeof value === "object" && "plaintext" in value) return plain(JSON.parse(String((value as { plaintext: string }).plaintext)));
    return undefined;
}

async function main(): Promise<number> {
    const { values: args } = parseArgs({
        options: { stack: { type: "string" }, node: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    });
    if (args.help || !args.stack) {
        console.error(USAGE);
        return args.help ? 0 : 1;
    }
    const stackName = args.stack;
    // Two CLI calls at once, straight to the stack (no workspace set-up, which costs a `pulumi version` and a
    // `pulumi stack select` first): its configuration, and its state (the outputs are the root resource's).
    const pulumi = (command: string[]) =>
        promisify(execFile)("pulumi", [...command, "--stack", stackName, "--non-interactive"], { maxBuffer: 64 << 20 }).then(
            ({ stdout }) => JSON.parse(stdout),
            (e: { stderr?: string; message: string }) => {
                throw new Error(`pulumi ${command.join(" ")}: ${e.stderr?.trim().split("\n").pop() || e.message}`);
            },
        );
    const [all, exported] = (await Promise.all([pulumi(["config", "--show-secrets", "--json"]), pulumi(["stack", "export", "--show-secrets"])])) as [
        Record<string, { value?: string; secret?: boolean }>,
        { deployment?: { resources?: Array<{ urn: string; id?: string; type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }> } },
    ];
    const outputs = Object.fromEntries(
        Object.entries(exported.deployment?.resources?.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs ?? {}).map(([name, value]) => [
            name,
            { value: plain(value) },
        ]),
    );
    const values = Object.fromEntries(Object.entries(all).map(([key, v]) => [key, v.value ?? ""]));
    const raw = projectConfig(values);
    const isSecret = (key: string) => all[`posit-workbench-entra:${key}`]?.secret === true;
    // As the program sees its stack (pulumi.getStack()): "org/prod" is "prod".
    const stack = stackName.split("/").pop()!;
    const config = parseConfig(
        raw,
        stack,
        secretFacts(raw, { sshPrivateKey: raw.sshPrivateKey !== undefined, clientSecret: raw.clientSecret !== undefined }, isSecret),
    );

    const state = new Map<string, StateStep>();
    let scimTokenRotation: string | undefined;
    for (const resource of exported.deployment?.resources ?? []) {
        if (resource.type === "time:index/rotating:Rotating" && resource.urn.endsWith("::workbench-scim-token-rotation")) scimTokenRotation = resource.id;
        if (resource.type !== "command:remote:Command") continue;
        state.set(resource.urn.split("::").pop()!, {
            urn: resource.urn,
            id: resource.id,
            create: plain(resource.inputs?.create),
            stdin: plain(resource.inputs?.stdin),
            stdout: plain(resource.outputs?.stdout),
        });
    }
    const output = (name: string) => (typeof outputs[name]?.value === "string" ? (outputs[name].value as string) : undefined);
    const progress = (line: string) => console.error(`check: ${line}`);
    // With SCIM, Entra ID's job (Graph) and the endpoint's certificate, while the nodes are checked (the
    // module loaded then only: JIT stacks start as before).
    const sections: Promise<CheckSection[]> =
        config.provisioning === "scim"
            ? import("./entra").then(({ checkProvisioning, optionsFromEnv }) =>
                  checkProvisioning(config, exported.deployment?.resources ?? [], optionsFromEnv(process.env)),
              )
            : Promise.resolve([]);
    const report: CheckReport = await checkStack(
        {
            stack,
            stackRef: stackName,
            config,
            sshPrivateKey: typeof raw.sshPrivateKey === "string" ? raw.sshPrivateKey : undefined,
            bastionPrivateKey: typeof raw.bastionPrivateKey === "string" ? raw.bastionPrivateKey : undefined,
            nodePrivateKeys: raw.nodePrivateKeys as Record<string, string> | undefined,
            clientSecret: typeof raw.clientSecret === "string" ? raw.clientSecret : undefined,
            clientId: config.clientId ?? output("clientId"),
            tenantId: config.tenantId ?? output("tenantId"),
            scimTokenRotation,
            state,
        },
        { only: args.node, progress },
    );
    report.sections = await sections;
    process.stdout.write(args.json ? `${JSON.stringify({ ...report, summary: summary(report), exitCode: exitCode(report) }, null, 2)}\n` : renderText(report));
    return exitCode(report);
}

main().then(
    (code) => process.exit(code),
    (error: Error) => {
        // Plain messages (a configuration error lists one problem a line); never a stack trace.
        console.error(`check: ${error.message}`);
        process.exit(1);
    },
);
