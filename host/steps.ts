/**
 * What identifies each host step's effect: its version. A step's resource carries the version (in the
 * path of the script it runs on the host), never the text of the script: a release of this program
 * that changes a script's comments, refactors it or adds a helper leaves every command as it was, so
 * Pulumi runs nothing on a host. Raising a step's version makes its command change: the next `up` runs
 * it once on every host (an idempotent apply: a host that already has the result is left as it is).
 *
 * `script` pins the script's canonical text (comments and blank lines left out, see `canonicalScript`).
 * A unit test fails when a step's script changes without this table changing, and says what to decide:
 * a change of what the step does on a host raises `version`; a change that keeps it (a refactoring, a new
 * helper) keeps `version` and only updates `script`.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type HostStep = "preflight" | "encrypt-client-secret" | "client-secret" | "rserver-conf" | "home-directories" | "nss" | "nscd" | "restart" | "scim-token";

export interface StepRelease {
    /** Raised when what the step does on a host changes. */
    version: number;
    /** sha256 of the step's canonical script at this version (or since its last effect-preserving change). */
    script: string;
}

export const STEP_RELEASES: Record<HostStep, StepRelease> = {
    "preflight": { version: 1, script: "993625ebf248887c1bbb92f8b25ff4b3bd390efcc23c74d6c0984696c1663fcc" },
    "encrypt-client-secret": { version: 1, script: "e8389ece353af13dc59854be250265125c401c94860f552d9c7e25fdb09ce552" },
    "client-secret": { version: 1, script: "5293fd4f7b83887e69efd39d10fe04243be7ca2f8b8730c3d8ad1f780596126e" },
    "rserver-conf": { version: 1, script: "89fc6369db9df39e2e2d74b798b1043bfc749f661986220e5491b7ab0efb8314" },
    "home-directories": { version: 1, script: "740cf5c5153e34a0aab840401cd2161d262788a0ebaa2f9020698ca1696cdbf8" },
    "nss": { version: 1, script: "45c3062afde10ff4c7cf7532c6e104f1a7addb2b4ba94d1d957fedc45cff3716" },
    "nscd": { version: 1, script: "84782cda905fdfc27cee2120f83f284b8db207f1cbd6b1928b209c349a6f14e0" },
    "restart": { version: 1, script: "74132b79833bf5384df486a806a8dcd0f0638b441122724dd85b6fe804f3d909" },
    "scim-token": { version: 1, script: "2bb73c31909df3770610fd814a1405c27c3f85e4e89ac5e04ba36de3373120de" },
};

export const HOST_STEPS = Object.keys(STEP_RELEASES) as HostStep[];

/** Where the stack's step scripts are installed on a host (root only), one file per step and version. */
export const HOST_SCRIPTS_DIR = "/var/lib/posit-workbench-entra/scripts";

const readHostFile = (name: string) => readFileSync(join(__dirname, name), "utf8");

/** The whole script of one step: the shared helpers, the step, then the action dispatcher. */
export function stepScript(step: HostStep): string {
    return [readHostFile("lib.sh"), readHostFile(`${step}.sh`), readHostFile("main.sh")].join("\n");
}

/** The script's file name on the host: the step and its version. */
export const stepScriptFile = (step: HostStep) => `${step}-v${STEP_RELEASES[step].version}.sh`;

/** A script without what cannot change its effect: comment lines, blank lines, indentation and trailing blanks. */
export function canonicalScript(script: string): string {
    return script
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"))
        .join("\n");
}

export const scriptDigest = (step: HostStep) => createHash("sha256").update(canonicalScript(stepScript(step))).digest("hex");

/**
 * What the scripts a host holds are known by: every step's version. The resource that installs the
 * scripts is named after it, so a new version installs them again, and nothing else does.
 */
export function releaseDigest(): string {
    return createHash("sha256")
        .update(JSON.stringify(HOST_STEPS.map((step) => [step, STEP_RELEASES[step].version])))
        .digest("hex")
        .slice(0, 8);
}
