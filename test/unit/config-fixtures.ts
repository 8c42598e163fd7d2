/** What the configuration tests share: parsing a stack's config over `baseConfig`, and well-formed host keys. */
import { expect } from "vitest";
import { ConfigError, parseConfig, SecretFacts } from "../../config";
import { baseConfig } from "./program";

/** The secret keys a stack has by default: the SSH private key. */
export const withSshKey: SecretFacts = { sshPrivateKey: true, clientSecret: false };

/** `baseConfig` with `overrides`, parsed as stack "prod" (the secrets' values are never given, only whether they are set). */
export function parse(overrides: Record<string, unknown>, secrets: SecretFacts = withSshKey) {
    const { sshPrivateKey: _ignored, ...raw } = { ...baseConfig(), ...overrides };
    return parseConfig(raw, "prod", secrets);
}

/** The problems reported for a config; exactly one is expected per bad key. */
export function problems(overrides: Record<string, unknown>, secrets: SecretFacts = withSshKey): string[] {
    try {
        parse(overrides, secrets);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error("config was accepted");
}

/** An SSH wire-format string: uint32 length, then the bytes. */
export const wireString = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
};

/** A well-formed ed25519 host key, its 32 key bytes all `fill`. */
export const ed25519Key = (fill: number) =>
    `ssh-ed25519 ${Buffer.concat([wireString(Buffer.from("ssh-ed25519")), wireString(Buffer.alloc(32, fill))]).toString("base64")}`;
