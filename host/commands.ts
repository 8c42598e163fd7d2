/**
 * The commands sent to the Workbench host. Each step is a real shell script in this folder; a
 * command is `sudo -n env WB_...=<value> bash -c '<lib.sh><step>.sh<main.sh>' <step> apply|remove|check`.
 * Values are plain (non-secret) and visible in previews on purpose: they are what a reviewer reads.
 * Secrets never enter these strings: they go on the command's stdin.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type HostStep = "preflight" | "encrypt-client-secret" | "client-secret" | "rserver-conf" | "home-directories" | "nss" | "nscd" | "restart" | "scim-token";
export type HostAction = "apply" | "remove" | "check";

const readScript = (name: string) => readFileSync(join(__dirname, `${name}.sh`), "utf8");

/** Single-quotes a value for POSIX shells. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The full command line for one step and action; `env` names must be WB_ variables. */
export function hostCommand(step: HostStep, action: HostAction, env: Record<string, string> = {}): string {
    const script = [readScript("lib"), readScript(step), readScript("main")].join("\n");
    const assignments = Object.entries({ WB_STEP: step, ...env }).map(([name, value]) => {
        if (!/^WB_[A-Z0-9_]+$/.test(name)) throw new Error(`host command variable ${name} must match WB_[A-Z0-9_]+`);
        return `${name}=${shellQuote(value)}`;
    });
    const run = `sudo -n env ${assignments.join(" ")} bash -c ${shellQuote(script)} ${step} ${action}`;
    if (step !== "preflight" || action !== "apply") return run;
    // The first command a host sees explains the most common failure in plain words.
    return `sudo -n true 2>/dev/null || { echo "preflight: the SSH user needs passwordless sudo (sudo -n true failed)" >&2; exit 1; }; ${run}`;
}

/** What a step does, in its script's own words: the header comment (after the shellcheck directive). */
export function stepDescription(step: HostStep): string[] {
    const lines = readScript(step).split("\n");
    const start = lines[0].startsWith("# shellcheck") ? 1 : 0;
    const end = lines.findIndex((line, i) => i >= start && !line.startsWith("#"));
    return lines.slice(start, end === -1 ? undefined : end).map((line) => line.replace(/^# ?/, ""));
}
