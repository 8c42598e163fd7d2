// Decrypts values produced by `rstudio-server encrypt-password` (Posit Workbench), following the
// format of Posit's open source reimplementation rstudio/rskey (workbench/workbench.go):
// CRC32HEX(key file) + base64 without padding (32-byte IV field, 16 bytes used || AES-128-CBC
// ciphertext, PKCS#7) + the same CRC32HEX. The AES key is the key file's bytes XOR-rotated.
import { createDecipheriv } from "node:crypto";

const KEY_XOR = [223, 99, 111, 160, 122, 212, 223, 105, 37, 190];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
});

/** CRC-32 (IEEE 802.3), as zlib's crc32 and Go's crc32.ChecksumIEEE. */
export function crc32(data: Uint8Array): number {
    let crc = 0xffffffff;
    for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
}

/** The plain text of an encrypted Workbench value, given the secure-cookie-key file's contents. */
export function decryptWorkbenchSecret(encrypted: string, keyFileContents: string | Buffer): string {
    const key = Buffer.from(keyFileContents);
    if (key.length < 32) throw new Error("secure-cookie-key must be at least 32 bytes");
    const checksum = crc32(key).toString(16).toUpperCase().padStart(8, "0");
    const value = encrypted.trim();
    if (value.length < 8 * 2 + 32 || !value.startsWith(checksum) || !value.endsWith(checksum)) {
        throw new Error(`not a value encrypted with this key (checksum ${checksum})`);
    }
    const payload = Buffer.from(value.slice(8, -8), "base64");
    const aesKey = key.subarray(0, 16).map((b, i) => b ^ KEY_XOR[i % KEY_XOR.length]);
    const decipher = createDecipheriv("aes-128-cbc", aesKey, payload.subarray(0, 16));
    return Buffer.concat([decipher.update(payload.subarray(32)), decipher.final()]).toString("utf8");
}
