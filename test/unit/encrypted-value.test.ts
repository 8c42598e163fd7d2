// The encrypted value's shape check (host/lib.sh `wb_encrypted_value`, which the encryption and client
// secret steps use), run by bash on this machine against values from Posit's rskey (built from the vendored source).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { entraLikeSecret, rskeyDecrypt, rskeyEncrypt } from "../sandbox/rskey";

const HOST = join(__dirname, "../../host");
const RSKEY_KEY = "d3161166-e89b-4158-af3b-5980e3056cc6\n";
const RSKEY_VECTOR = "BFA25145OoPWwVZMdN/K7eDJUD5gLg916yildo6m+XG0+Sld7r+SuKXS3Rsi/TC0qbVZ5uCMBFA25145";
/** A key file whose CRC32 is 0073F3A8: RStudio's crc32HexHash prints it as 73F3A8. */
const LEADING_ZERO_KEY = "000000d0-0000-4000-8000-0000000000d0\n";

/** What `wb_encrypted_value CRC` picks from `output` (undefined when nothing has the shape). */
function shapeCheck(output: string, crc: string): string | undefined {
    const script = `source ${HOST}/lib.sh; wb_encrypted_value "$1"`;
    try {
        return execFileSync("bash", ["-c", script, "check", crc], { input: output, encoding: "utf8" }).trim() || undefined;
    } catch {
        return undefined;
    }
}

const crcOf = (key: string) => execFileSync("bash", ["-c", `source ${HOST}/lib.sh; wb_crc32_hex <(cat)`], { input: key, encoding: "utf8" }).trim();

describe("the encrypted value's shape check", () => {
    it("computes the key hash as rskey does", () => {
        expect(crcOf(RSKEY_KEY)).toBe("BFA25145");
        expect(crcOf(LEADING_ZERO_KEY)).toBe("0073F3A8");
    });

    it("accepts rskey's published vector, amid a terminal's prompts and CRLF line ends", async () => {
        const output = `Type the sensitive data to encrypt, then press Enter: \r\nType the sensitive data again: \r\n${RSKEY_VECTOR}\r\n`;
        expect(shapeCheck(output, "BFA25145")).toBe(RSKEY_VECTOR);
        expect(await rskeyDecrypt([RSKEY_VECTOR], RSKEY_KEY)).toEqual(["success"]);
    });

    it("accepts rskey's values for secrets of 1 to 64 characters (no, one and two padding characters)", async () => {
        const secrets = Array.from({ length: 64 }, (_, i) => entraLikeSecret(i + 1));
        const values = await rskeyEncrypt(secrets, RSKEY_KEY);
        const padding = new Set(values.map((v) => v.slice(0, -8).match(/=*$/)![0].length));
        expect([...padding].sort()).toEqual([0, 1, 2]);
        for (const value of values) expect(shapeCheck(`${value}\n`, "BFA25145"), value).toBe(value);
        expect(await rskeyDecrypt(values, RSKEY_KEY)).toEqual(secrets);
    });

    it("accepts a key hash with leading zeros in both forms: rskey's 8 digits and crc32HexHash's shorter one", async () => {
        const [value] = await rskeyEncrypt([entraLikeSecret(40)], LEADING_ZERO_KEY);
        expect(value).toMatch(/^0073F3A8.*0073F3A8$/);
        const short = `73F3A8${value.slice(8, -8)}73F3A8`;
        expect(shapeCheck(value, "0073F3A8")).toBe(value);
        expect(shapeCheck(short, "0073F3A8")).toBe(short);
    });

    it("refuses what is not a value encrypted with this key", async () => {
        const [value] = await rskeyEncrypt([entraLikeSecret(40)], RSKEY_KEY);
        const body = value.slice(8, -8);
        expect(shapeCheck(value, "0073F3A8")).toBeUndefined(); // another key
        expect(shapeCheck(`BFA25145${body.replace(/=+$/, "")}BFA25145`, "BFA25145")).toBeUndefined(); // padding stripped
        expect(shapeCheck(`BFA25145${body.slice(1)}BFA25145`, "BFA25145")).toBeUndefined(); // cut short
        expect(shapeCheck("BFA25145BFA25145", "BFA25145")).toBeUndefined();
        expect(shapeCheck("Passwords do not match\n", "BFA25145")).toBeUndefined();
    });
});
