// The encrypt-client-secret step's `encrypt` function, run as it is over real SSH, against
// `rstudio-server encrypt-password` whose value comes from Posit's rskey: with rskey's own prompts
// (terminal raw mode, golang.org/x/term) and with getpass-style prompts (line mode, echo off,
// type-ahead flushed). Every value is decrypted by `rskey decrypt --mode=workbench`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../host/commands";
import { Sandbox, sshRun, startSandbox } from "../sandbox/sandbox";
import { entraLikeSecret, rskeyDecrypt } from "../sandbox/rskey";
import { applyAll, CLIENT_ID, CLIENT_SECRET, hostValues, resultOf } from "./driver";
import { runStep } from "./one-step";

const HOST = join(__dirname, "../../host");
const KEY_FILE = "/var/lib/rstudio-server/secure-cookie-key";

/** Runs the step's encrypt() once per stdin line, printing one value per line (or "FAILED <n>"). */
const ENCRYPT_EACH_LINE = [
    readFileSync(join(HOST, "lib.sh"), "utf8"),
    readFileSync(join(HOST, "encrypt-client-secret.sh"), "utf8"),
    'crc=$(wb_crc32_hex "$(wb_key_file)"); n=0',
    'while IFS= read -r secret; do n=$((n + 1)); value=$(encrypt "$secret" "$crc") || value="FAILED $n"; printf "%s\\n" "$value"; done',
].join("\n");

async function encryptAll(sandbox: Sandbox, secrets: string[], connections = 4): Promise<string[]> {
    const chunks = Array.from({ length: connections }, (_, c) => secrets.filter((_, i) => i % connections === c));
    const outputs = await Promise.all(
        chunks.map((chunk) => sshRun(sandbox, `sudo -n bash -c ${shellQuote(ENCRYPT_EACH_LINE)}`, chunk.map((s) => `${s}\n`).join(""))),
    );
    const values: string[] = [];
    outputs.forEach((out, c) => {
        expect(out.code, out.stderr).toBe(0);
        out.stdout
            .trimEnd()
            .split("\n")
            .forEach((value, i) => (values[i * connections + c] = value));
    });
    return values;
}

describe.each(["raw", "canonical"] as const)("encrypting the client secret with %s-mode prompts", { timeout: 300_000 }, (prompts) => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox({ encryptPrompts: prompts });
    });
    afterAll(async () => sb?.stop());

    it("round-trips secrets of every length from 1 to 64 characters (all three padding cases)", async () => {
        const secrets = Array.from({ length: 64 }, (_, i) => entraLikeSecret(i + 1, 1));
        const values = await encryptAll(sb, secrets);
        expect(values.filter((v) => v.startsWith("FAILED"))).toEqual([]);
        expect(new Set(values.map((v) => v.slice(0, -8).match(/=*$/)![0].length))).toEqual(new Set([0, 1, 2]));
        expect(await rskeyDecrypt(values, await sb.readFile(KEY_FILE))).toEqual(secrets);
    });

    it("encrypts a 40-character Entra secret (~ . _ -) and never shows it to the audit log", async () => {
        const secret = "Xy8Q~ab.cd_ef-Gh1iJ2kL3mN4oP5qR6sT7uV8wX";
        expect(secret).toHaveLength(40);
        const [value] = await encryptAll(sb, [secret], 1);
        expect(value).toMatch(/=[0-9A-F]{8}$/);
        expect(await rskeyDecrypt([value], await sb.readFile(KEY_FILE))).toEqual([secret]);
        expect(await sb.readFile("/var/log/standin/cmdlines.log")).not.toContain(secret);
    });

    it("works with a key whose hash has leading zeros", async () => {
        const key = "000000d0-0000-4000-8000-0000000000d0\n";
        const saved = await sb.readFile(KEY_FILE);
        await sb.writeFile(KEY_FILE, key);
        try {
            const [value] = await encryptAll(sb, [entraLikeSecret(40, 2)], 1);
            expect(value).toMatch(/^0073F3A8/);
            expect(await rskeyDecrypt([value], key)).toEqual([entraLikeSecret(40, 2)]);
        } finally {
            await sb.writeFile(KEY_FILE, saved);
        }
    });
});

// RStudio's crc32HexHash prints the key's hash without leading zeros; rskey prints %08X. For a key whose
// CRC32 is below 0x10000000 (one in sixteen), every step that compares a value with the hash must take
// the form the encryption step took: the first `up` (every step's apply, as the engine runs them) and a check.
describe("a Workbench that prints the key hash without leading zeros", { timeout: 300_000 }, () => {
    const key = "000000d0-0000-4000-8000-0000000000d0\n"; // CRC32 0073F3A8
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox({ nscd: false });
        await sb.writeFile(KEY_FILE, key);
        await sb.writeFile("/var/lib/standin/encrypt-short-key-hash", "");
    });
    afterAll(async () => sb?.stop());

    it("writes the client secret on the first up, and the check finds it in sync", async () => {
        const run = await applyAll(sb, hostValues());
        const encrypted = resultOf(run, "encrypt-client-secret")!.stdout;
        expect(encrypted).toMatch(/^73F3A8[A-Za-z0-9+/]+=*73F3A8$/);
        expect(resultOf(run, "client-secret")!.stdout).toBe("openid-client-secret=changed\n");
        expect(await sb.readFile("/etc/rstudio/openid-client-secret")).toBe(`client-id=${CLIENT_ID}\nclient-secret=${encrypted}\n`);
        expect(await rskeyDecrypt([`0073F3A8${encrypted.slice(6, -6)}0073F3A8`], key)).toEqual([CLIENT_SECRET]);

        const check = await runStep(sb, "client-secret", "check", {}, `${encrypted}\n`);
        expect(check.code, check.stderr).toBe(0);
        expect(check.stdout).toBe("check=in-sync\n");
        // A value made with another key: the check says apply would stop.
        const other = await runStep(sb, "client-secret", "check", {}, `BFA25145${encrypted.slice(6, -6)}BFA25145\n`);
        expect(other.stdout.split("\n")).toContain(
            "problem=the encrypted client secret the stack holds was not made with this node's secure-cookie-key (CRC32 0073F3A8): apply would stop before writing it",
        );
    });
});
