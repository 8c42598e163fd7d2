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
    "preflight": { version: 1, script: "6562c034f29f4f79bff722607ca0dec4fe9e99857a1a07a6511403b7c7ed77f6" },
    "encrypt-client-secret": { version: 1, script: "aeb98cfb978d4d5bd0171c84184a15eba73986fc0190b509ebe4daa7cc62f519" },
    "client-secret": { version: 1, script: "1956ba0d4f82fac5b95fe5e71945ca2d816b4d928e572a822c38a3b085215856" },
    "rserver-conf": { version: 1, script: "84e071851d174212db6658c5667424d57f00c6780d29b90697441fa0333a9d53" },
    "home-directories": { version: 1, script: "d133b1516aea4ab33d2f83d6a6c7c60ce568c00968bc42f4f3614c1507bb24ab" },
    "nss": { version: 1, script: "d1aba86fce840327021ad7e79bcd722e1a05b3d548afbf0a9fccdda0fd033df4" },
    "nscd": { version: 1, script: "6455f4df0f58c7ae18addb6a90a7f142c87cb6692c3b4f698e71faf1797e7047" },
    "restart": { version: 1, script: "7615605fec839180d6f2b3fbc8cdb7b269a98dbd4e570b1372a9a0e9798abef1" },
    "scim-token": { version: 1, script: "7f4b1d1be01f898de4861fd8f6b7729447038a5e69f885ce1d4cf33f92b0aded" },
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
