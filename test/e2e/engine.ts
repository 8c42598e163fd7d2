/**
 * The real Pulumi engine for end-to-end tests: the CLI, Node.js language host and command provider
 * built by scripts/build-engine.sh (from ../shared/vendor and the Go module proxy, or an installed
 * engine named by WB_ENGINE_DIR), a file:// backend and a passphrase secrets provider in a temporary
 * directory, and a copy of this project pointing at the repository's code.
 */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

const REPO = resolve(__dirname, "../..");
/** The project as a user's clone has it: the program's modules at the top, its folders, the packages. */
const PROJECT_FILES = [
    ...readdirSync(REPO).filter((f) => f.endsWith(".ts")),
    "components",
    "host",
    "check",
    "policy",
    "node_modules",
    "package.json",
    "tsconfig.json",
];
export const PASSPHRASE = "e2e-passphrase-not-a-real-secret";

let engineBin: Promise<string> | undefined;

/** The directory holding pulumi, pulumi-language-nodejs and pulumi-resource-command (built once, cached). */
export function engine(): Promise<string> {
    engineBin ??= promisify(execFile)(join(REPO, "scripts/build-engine.sh"), [], { maxBuffer: 64 << 20 }).then(
        ({ stdout }) => stdout.trim().split("\n").pop()!,
        (e: { stderr?: string; message: string }) => {
            throw new Error(`the Pulumi engine could not be built: ${e.stderr?.trim() || e.message}`);
        },
    );
    return engineBin;
}

export interface EngineStack {
    stack: Stack;
    workDir: string;
    stateDir: string;
    env: Record<string, string>;
    /** `pulumi stack export` without --show-secrets, as text. */
    exportPlain(): Promise<string>;
}

/** The program's own files: what a new release of this program changes (everything but the packages). */
const PROGRAM_FILES = PROJECT_FILES.filter((entry) => !["node_modules", "policy", "package.json"].includes(entry));

let providersBin: Promise<string> | undefined;

/**
 * The directory holding pulumi-resource-azuread 6.9.1 and pulumi-resource-time 0.1.1, the providers a
 * managed Entra app needs (scripts/build-providers.sh: built once from ../shared/vendor, cached; or
 * WB_PROVIDERS_DIR).
 */
export function providers(): Promise<string> {
    providersBin ??= promisify(execFile)(join(REPO, "scripts/build-providers.sh"), [], { maxBuffer: 64 << 20 }).then(
        ({ stdout }) => stdout.trim().split("\n").pop()!,
        (e: { stderr?: string; message: string }) => {
            throw new Error(`the azuread and time providers could not be built: ${e.stderr?.trim().split("\n").slice(-3).join(" ") || e.message}`);
        },
    );
    return providersBin;
}

export interface NewStackOptions {
    /** The program's files are copies the test may change (a new release of this program), not links to the repository's. */
    copyProgram?: boolean;
    /** The azuread and time providers on the engine's PATH (a managed Entra app). */
    withProviders?: boolean;
    /** More environment for the engine and its providers (e.g. the Entra stand-in's proxy and credentials). */
    env?: Record<string, string>;
}

/**
 * A new stack of this project in a temporary directory, on a file:// backend; `program` replaces
 * index.ts (to measure another program side by side with this one). With `copyProgram`, the program's
 * files are copies the test may change (a new release of this program), not links to the repository's.
 */
export async function newStack(
    stackName: string,
    program?: string,
    { copyProgram = false, withProviders = false, env: extraEnv = {} }: NewStackOptions = {},
): Promise<EngineStack> {
    const bin = await engine();
    const path = withProviders ? `${bin}:${await providers()}` : bin;
    const base = await mkdtemp(join(tmpdir(), "wb-e2e-"));
    const workDir = join(base, "project");
    const stateDir = join(base, "state");
    await mkdir(workDir);
    await mkdir(stateDir);
    await copyFile(join(REPO, "Pulumi.yaml"), join(workDir, "Pulumi.yaml"));
    for (const entry of PROJECT_FILES) {
        if (entry === "index.ts" && program !== undefined) await writeFile(join(workDir, entry), program);
        else if (copyProgram && PROGRAM_FILES.includes(entry)) await cp(join(REPO, entry), join(workDir, entry), { recursive: true });
        else await symlink(join(REPO, entry), join(workDir, entry));
    }
    const env = {
        PATH: `${path}:${process.env.PATH}`,
        PULUMI_HOME: join(base, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        ...extraEnv,
    };
    // PulumiCommand runs <root>/bin/pulumi: give it a root whose bin is the engine's directory.
    await mkdir(join(base, "engine"));
    await symlink(bin, join(base, "engine", "bin"));
    const pulumiCommand = await PulumiCommand.get({ root: join(base, "engine"), skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir }, { envVars: env, pulumiCommand });
    return {
        stack,
        workDir,
        stateDir,
        env,
        // Not Stack.exportStack(): it passes --show-secrets.
        exportPlain: async () =>
            (
                await promisify(execFile)(join(bin, "pulumi"), ["stack", "export", "--stack", stackName, "--cwd", workDir], {
                    env: { ...process.env, ...env },
                    maxBuffer: 64 << 20,
                })
            ).stdout,
    };
}

/**
 * Whether the end-to-end tests must be skipped: only outside CI, when the engine cannot be had (the
 * reason is printed). In CI (CI=true) they run, and fail on the missing engine.
 */
export async function engineUnavailable(): Promise<boolean> {
    const problem = await engine().then(
        () => undefined,
        (e: Error) => e.message,
    );
    if (problem === undefined || process.env.CI) return false;
    console.warn(`end-to-end tests skipped (outside CI only): ${problem}`);
    return true;
}

/**
 * Whether the tests of a managed Entra app must be skipped: only outside CI, when the engine or the azuread
 * and time providers cannot be had (the reason is printed). In CI (CI=true) they run, and fail on it.
 */
export async function providersUnavailable(): Promise<boolean> {
    const problem = await Promise.all([engine(), providers()]).then(
        () => undefined,
        (e: Error) => e.message,
    );
    if (problem === undefined || process.env.CI) return false;
    console.warn(`end-to-end tests of a managed Entra app skipped (outside CI only): ${problem}`);
    return true;
}

export interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** `npm run check -- <args>` as a user runs it from the stack's project directory (tsx check/cli.ts). */
export function runCheck(e: EngineStack, args: string[]): Promise<CliRun> {
    // The project's own check (a copied program's, when the test changed it).
    return promisify(execFile)(join(REPO, "node_modules/.bin/tsx"), [join(e.workDir, "check/cli.ts"), ...args], {
        cwd: e.workDir,
        env: { ...process.env, ...e.env },
        maxBuffer: 16 << 20,
    }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: CliRun) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
}
