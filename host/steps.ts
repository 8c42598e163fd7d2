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

export type HostStep =
    "preflight" | "encrypt-client-secret" | "client-secret" | "rserver-conf" | "home-directories" | "nss" | "nscd" | "restart" | "scim-token";

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
    "preflight": { version: 2, script: "cfc0077114c8c9de2a7ae21223b6ae526cb2c8e3e2e5249a21847a1843f961cb", runsOn: "node", after: [], checksKey: false, input: "none", secretOutput: false, beforeRestart: false, marksRestart: false, deleteBeforeReplace: true },
    "encrypt-client-secret": { version: 1, script: "1a97511e2b65dd6eb2a05eea40903bf2c55987f665bc7a57b4955f1da5117853", runsOn: "cluster", after: ["preflight"], checksKey: true, input: "client-secret", secretOutput: true, beforeRestart: false, marksRestart: false, deleteBeforeReplace: false },
    "client-secret": { version: 1, script: "0820994b4fa03ecda2536bab473b94bff03f3b5a88559d1165122158ce3fa4c4", runsOn: "node", after: ["preflight", "encrypt-client-secret"], checksKey: true, input: "encrypted-client-secret", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "rserver-conf": { version: 1, script: "b3c8ec855fea010bd6a803879ec1eb633b67865e18c5cf6394d6313b089e57df", runsOn: "node", after: ["client-secret"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "home-directories": { version: 1, script: "56462e8b3941c1b61f11508991c2e68af5fcd991a99b8c103d11003125fa8a67", runsOn: "node", after: ["preflight"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "nss": { version: 1, script: "b3ece5352849776b38c9c006744b4ba286644ee4fa511ae0d2e688b542012bab", runsOn: "node", after: ["home-directories"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: true, deleteBeforeReplace: true },
    "nscd": { version: 1, script: "a2fc19e71b0762a1641cdac3972f119faa77fb83beba90a26f6cea135b904169", runsOn: "node", after: ["preflight"], checksKey: true, input: "none", secretOutput: false, beforeRestart: true, marksRestart: false, deleteBeforeReplace: true },
    "restart": { version: 1, script: "0e7c14c1030eca6650511540c1cb09f4b058ca28fdcbaf2a525d2df23268274c", runsOn: "node", after: ["client-secret", "rserver-conf", "home-directories", "nss", "nscd"], checksKey: false, input: "digest", secretOutput: false, beforeRestart: false, marksRestart: false, deleteBeforeReplace: true },
    "scim-token": { version: 1, script: "b5e8c3f9299c4de555b307b82bfa3058f89696f623e63d61873e00cf4edf96d2", runsOn: "cluster", after: ["restart"], checksKey: true, input: "none", secretOutput: true, beforeRestart: false, marksRestart: false, deleteBeforeReplace: true },
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

export const scriptDigest = (step: HostStep) =>
    createHash("sha256")
        .update(canonicalScript(stepScript(step)))
        .digest("hex");

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
