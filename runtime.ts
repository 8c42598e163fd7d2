import { UserError } from "./errors";
import { engines } from "./package.json";

/** The Node.js releases this program supports: package.json's `engines.node`, e.g. "^22.12.0 || ^24.0.0". */
export const SUPPORTED_NODE = engines.node;

/** Whether `version` satisfies a range of caret terms ("^M.m.p || ^M.m.p"): the same major, at least that minor and patch. */
export function isSupportedNode(version: string, range = SUPPORTED_NODE): boolean {
    const [major, minor, patch] = version.split(".").map(Number);
    return range.split("||").some((term) => {
        const [M, m, p] = term.trim().replace(/^\^/, "").split(".").map(Number);
        return major === M && (minor > m || (minor === m && patch >= p));
    });
}

/** Stops the program, before it reads any configuration, on a Node.js it does not support. */
export function requireSupportedNode(version = process.versions.node): void {
    if (!isSupportedNode(version)) {
        throw new UserError(
            `Node.js ${version} is not supported: this program needs Node.js ${SUPPORTED_NODE}. From the project directory, ` +
                `export PATH="$(scripts/node-path.sh):$PATH" puts Node.js 22 from the npm registry first on PATH; then run pulumi again.`,
        );
    }
}
