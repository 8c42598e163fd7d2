// Posit's rskey (built from its vendored source by build-tools.sh) on this machine: the reference
// for Workbench's encrypted-value format that tests check the host step's output against.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildTools } from "./sandbox";

async function rskey(verb: "encrypt" | "decrypt", lines: string[], keyFileContents: string | Buffer): Promise<string[]> {
    const dir = await mkdtemp(join(tmpdir(), "wb-rskey-"));
    try {
        const keyFile = join(dir, "key");
        const input = join(dir, "input");
        await writeFile(keyFile, keyFileContents, { mode: 0o600 });
        await writeFile(input, lines.map((line) => `${line}\n`).join(""), { mode: 0o600 });
        const bin = join(await buildTools(["rskey"]), "rskey");
        // rskey reads values line by line only from a pipe (anything else is taken for a terminal).
        const { stdout } = await promisify(execFile)("bash", ["-c", 'cat "$1" | "$2" "$3" --mode=workbench -f "$4"', "rskey", input, bin, verb, keyFile]);
        return stdout.split("\n").slice(0, lines.length);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

/** Plain texts of Workbench-encrypted values, by `rskey decrypt --mode=workbench`. */
export const rskeyDecrypt = (values: string[], keyFileContents: string | Buffer) => rskey("decrypt", values, keyFileContents);

/** Workbench-encrypted values of plain texts, by `rskey encrypt --mode=workbench`. */
export const rskeyEncrypt = (plain: string[], keyFileContents: string | Buffer) => rskey("encrypt", plain, keyFileContents);

/** The plain text of one Workbench-encrypted value. */
export const workbenchDecrypt = async (value: string, keyFileContents: string | Buffer) => (await rskeyDecrypt([value], keyFileContents))[0];

const ENTRA_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-";

/** A secret of `length` characters from Entra's alphabet (letters, digits, ~ . _ -). */
export const entraLikeSecret = (length: number, seed = 0) =>
    Array.from({ length }, (_, i) => ENTRA_CHARS[(i * 7 + seed * 13 + length) % ENTRA_CHARS.length]).join("");
