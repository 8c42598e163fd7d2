/**
 * The README's configuration table against config.ts: every key the program reads is in the table, nothing
 * else is, and each simple default the table names is the one config.ts applies.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, parseConfig } from "../../config";

const README = readFileSync(join(__dirname, "../../README.md"), "utf8");

/** The configuration table's rows: [keys of the first column, the default cell]. */
function tableRows(): Array<{ keys: string[]; default: string }> {
    const section = README.split("## Configuration reference")[1].split("\n## ")[0].split("\n### ")[0];
    return section
        .split("\n")
        .filter((line) => line.startsWith("| `"))
        .map((line) => {
            const [keys, defaultCell] = line.split(" | ");
            return { keys: [...keys.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]), default: defaultCell };
        });
}

describe("the README's configuration table", () => {
    it("names every configuration key the program reads, and no other", () => {
        const documented = tableRows().flatMap((r) => r.keys);
        expect([...documented].sort()).toEqual([...CONFIG_KEYS].sort());
    });

    it("gives the defaults config.ts applies", () => {
        const typed = parseConfig(
            { hostname: "workbench.example.com", host: { address: "10.0.0.5", port: 22, user: "admin" }, allowUnpinnedHostKey: true },
            "prod",
            { sshPrivateKey: true, clientSecret: false },
        ) as unknown as Record<string, unknown>;
        const checked: string[] = [];
        for (const row of tableRows()) {
            for (const key of row.keys) {
                const value = typed[key];
                // Values given here (hostname, the opt-out) and derived ones (appDisplayName) are not defaults to compare.
                if (["hostname", "allowUnpinnedHostKey", "appDisplayName"].includes(key) || !["string", "number", "boolean"].includes(typeof value)) continue;
                expect(row.default, key).toContain(`\`${value}\``);
                checked.push(key);
            }
        }
        // The keys with a plain default are all checked.
        expect(checked).toEqual(
            expect.arrayContaining([
                "provisioning",
                "entraMode",
                "secretRotationDays",
                "secretGraceDays",
                "usernameClaim",
                "scimTokenDays",
                "scimJobTemplate",
                "groupsClaim",
                "adminConsent",
            ]),
        );
    });
});
