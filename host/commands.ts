/**
 * The commands sent to the Workbench host. Each step is a real shell script in this folder (with the
 * shared helpers of lib.sh and the action dispatcher of main.sh around it).
 *
 * The stack's resources run the step scripts installed on the host (`installScriptsCommand`, once per
 * release of a step: see steps.ts) through a short command that names the step's version and carries the
 * step's values (`stepCommand`). `npm run check` and the host tests send the whole script instead
 * (`hostCommand`). Either way a command is `sudo -n env WB_...=<value> bash ...`: values are plain
 * (non-secret) and visible in previews on purpose, as they are what a reviewer reads. Secrets never enter
 * these strings: they go on the command's stdin.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HOST_SCRIPTS_DIR, HOST_STEPS, HostStep, stepScript, stepScriptFile } from "./steps";

export type { HostStep } from "./steps";
export type HostAction = "apply" | "update" | "remove" | "check";

/** Single-quotes a value for POSIX shells. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `sudo -n env WB_STEP=<step> WB_...=<value>` for a step's values; `env` names must be WB_ variables. */
function sudoEnv(step: string, env: Record<string, string>): string {
    const assignments = Object.entries({ WB_STEP: step, ...env }).map(([name, value]) => {
        if (!/^WB_[A-Z0-9_]+$/.test(name)) throw new Error(`host command variable ${name} must match WB_[A-Z0-9_]+`);
        return `${name}=${shellQuote(value)}`;
    });
    return `sudo -n env ${assignments.join(" ")}`;
}

/** The first command a host sees explains the most common failure in plain words. */
const needsSudo = (who: string) => `sudo -n true 2>/dev/null || { echo "${who}: the SSH user needs passwordless sudo (sudo -n true failed)" >&2; exit 1; }; `;

/** The full command line for one step and action, the whole script in it (check mode, host tests). */
export function hostCommand(step: HostStep, action: HostAction, env: Record<string, string> = {}): string {
    const run = `${sudoEnv(step, env)} bash -c ${shellQuote(stepScript(step))} ${step} ${action}`;
    return step === "preflight" && action === "apply" ? needsSudo("preflight") + run : run;
}

/** The step's script as installed on a host for the stack. */
export const installedScript = (stack: string, step: HostStep) => `${HOST_SCRIPTS_DIR}/${stack}/${stepScriptFile(step)}`;

/**
 * The command a step's resource runs: the step's script as installed on the host for this release of the
 * step, with its values. It changes only when the values or the step's version change.
 */
export function stepCommand(step: HostStep, action: HostAction, env: Record<string, string> & { WB_STACK: string }): string {
    const missing =
        `echo "${step}: $0 is missing on this host: this program's scripts were removed from it (by hand, or the host was rebuilt)." ` +
        `"Install them again: pulumi up --replace with the URN of this node's scripts resource (pulumi stack --show-urns | grep scripts)" >&2`;
    const launcher = `test -r "$0" || { ${missing}; exit 1; }; exec bash "$0" "$@"`;
    const run = `${sudoEnv(step, env)} bash -c ${shellQuote(launcher)} ${shellQuote(installedScript(env.WB_STACK, step))} ${action}`;
    // The preflight runs first, on a first `up` and after a new login user: it explains a missing sudo.
    return step === "preflight" && (action === "apply" || action === "update") ? needsSudo("preflight") + run : run;
}

const installScripts = (action: "install" | "remove", env: Record<string, string>) =>
    `${sudoEnv("install-scripts", { ...env, WB_SCRIPTS_DIR: HOST_SCRIPTS_DIR })} bash -c ${shellQuote(readFileSync(join(__dirname, "install-scripts.sh"), "utf8"))} install-scripts ${action}`;

/** The command that installs the step scripts on a host; they arrive on its stdin (`scriptsBundle`). */
export function installScriptsCommand(stack: string): string {
    return needsSudo("install-scripts") + installScripts("install", { WB_STACK: stack });
}

/** The command that removes the stack's step scripts from a host, after its last step (`owner`: see plan.ts's nodeOwner). */
export function removeScriptsCommand(stack: string, owner: string): string {
    return installScripts("remove", { WB_STACK: stack, WB_OWNER: owner });
}

/** Every step's script as install-scripts.sh reads them: "file <name> <bytes>", then the bytes. */
export function scriptsBundle(): string {
    return HOST_STEPS.map((step) => {
        const text = stepScript(step);
        return `file ${stepScriptFile(step)} ${Buffer.byteLength(text)}\n${text}`;
    }).join("");
}

/** What a step does, in its script's own words: the header comment (after the shellcheck directive). */
export function stepDescription(step: HostStep): string[] {
    const lines = readFileSync(join(__dirname, `${step}.sh`), "utf8").split("\n");
    const start = lines[0].startsWith("# shellcheck") ? 1 : 0;
    const end = lines.findIndex((line, i) => i >= start && !line.startsWith("#"));
    return lines.slice(start, end === -1 ? undefined : end).map((line) => line.replace(/^# ?/, ""));
}
