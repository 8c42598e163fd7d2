import { UserError } from "./errors";

/** The Node.js releases this program supports (as package.json's `engines`): 22.12 or later 22, and 24. */
export function isSupportedNode(version: string): boolean {
    const [major, minor] = version.split(".").map(Number);
    return (major === 22 && minor >= 12) || major === 24;
}

/** Stops the program, before it reads any configuration, on a Node.js it does not support. */
export function requireSupportedNode(version = process.versions.node): void {
    if (!isSupportedNode(version)) {
        throw new UserError(
            `Node.js ${version} is not supported: this program needs Node.js 22 (22.12 or later) or 24. From the project directory, ` +
                `export PATH="$(scripts/node-path.sh):$PATH" puts Node.js 22 from the npm registry first on PATH; then run pulumi again.`,
        );
    }
}
