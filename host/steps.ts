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

/** Everything the program knows about a host step, in one place: the component, the check and the tests derive from it. */
export interface StepSpec {
    /** Raised when what the step does on a host changes (see above). */
    version: number;
    /** sha256 of the step's canonical script at this version (or since its last effect-preserving change). */
    script: string;
    /** "node": on every node, named after the node; "cluster": once, on the first node, named after the cluster. */
    runsOn: "node" | "cluster";
    /**
     * The steps it runs after: of the same node for a node step (and the cluster steps), of every node for a
     * cluster step. On destroy it is removed before them.
     */
    after: HostStep[];
    /**
     * Before it writes, it checks that the node's secure-cookie-key is the one the preflights agreed on: the
     * hash, and the node's preflight id, come first on its stdin (a replaced preflight, whose remove undoes its
     * host, so makes the step run again).
     */
    checksKey: boolean;
    /** What it reads on stdin (after that line): the client secret, its encrypted form, a digest of the node's other steps. */
    input: "none" | "client-secret" | "encrypted-client-secret" | "digest";
    /** Its stdout is a secret: never logged, secret in the state. */
    secretOutput: boolean;
    /** It configures what Workbench uses: the node's restart runs after it, and again when its inputs change. */
    beforeRestart: boolean;
    /** Its apply (or remove) can leave a restart of Workbench pending: repairing it needs the node's restart too. */
    marksRestart: boolean;
    /**
     * Replaced old copy first: its delete restores, at the same paths, what its create changed. (The encryption's
     * delete only drops a cache, so an unreachable old first node does not hold up the new one.)
     */
    deleteBeforeReplace: boolean;
}

// prettier-ignore
export const HOST_STEP_SPECS: Record<HostStep, StepSpec> = {
    "preflight": { version: 2, script: "9807d66637d1189e35e305edd3c52f9a43a0aa1aa60f1a8f2a3acf4353354645", runsOn: "node", after: [], checksKey: false, input: "none", secretOutput: false, beforeRestart: false, marksRestart: false, deleteBeforeReplace: true },
    "encrypt-client-secret": { version: 1, script: "d217eba0bec555d0917ea8d4470141710890b68125ec5f00978520c40e84423b", runsOn: "cluster", after: ["preflight"], checksKey: true, input: "client-secret", secretOutput: true, beforeRestart: false, marksRestart: false, deleteBeforeReplace: false },
    "client-secret": { version: 1, script: "43b3cdd6f643864c631cf00d926db38ac00a855980f1fae85a1876a84cb88657", runsOn: "node", after: ["preflight", "encrypt-client-secret"], checksKey: true, input: "encrypted-client-secret", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "rserver-conf": { version: 1, script: "55a4475852af801b83b6c35bd02921e51183859ff780ba1307bab03e7065343d", runsOn: "node", after: ["client-secret"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "home-directories": { version: 1, script: "feb6ace3d523a84ca00a92e033403d469a2b80807fc72de0a5365ccf955e9458", runsOn: "node", after: ["preflight"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "nss": { version: 1, script: "81fb1347edc3ab8c5e080de50505e4b1b9fdcf926c5232c2d2337b6660e6eed8", runsOn: "node", after: ["home-directories"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "nscd": { version: 1, script: "8b80d212e8d3e2e21924b489454a0eb8bb080dd54afc73ad40e578f508b019ee", runsOn: "node", after: ["preflight"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: false, deleteBeforeReplace: true },
    "restart": { version: 1, script: "ace02f6aa898a00b344faaf43c69b9278d80d6769ad11770b2ecdeabb3b9ab14", runsOn: "node", after: ["client-secret", "rserver-conf", "home-directories", "nss", "nscd"], checksKey: false, input: "digest", secretOutput: false, beforeRestart: false, marksRestart: false, deleteBeforeReplace: true },
    "scim-token": { version: 1, script: "d0dcd2d62b3c7841b3391401c417bb1a326b4509100c1c110e4032a0ceab810a", runsOn: "cluster", after: ["restart"], checksKey: true, input: "none", secretOutput: true, beforeRestart: false, marksRestart: false, deleteBeforeReplace: true },
};

/** The steps' versions and pinned scripts (the release's decisions). */
export const STEP_RELEASES: Record<HostStep, Pick<StepSpec, "version" | "script">> = HOST_STEP_SPECS;

/** Every step, in the order a node runs them. */
export const HOST_STEPS = Object.keys(HOST_STEP_SPECS) as HostStep[];

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
