import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { UserError } from "../../errors";
import { isSupportedNode, requireSupportedNode } from "../../runtime";

describe("the Node.js the program runs on", () => {
    it("is what package.json's engines says: 22.12 or a later 22, or 24", () => {
        expect(["22.12.0", "22.23.3", "24.0.0", "24.11.1"].filter((v) => isSupportedNode(v))).toHaveLength(4);
        expect(["20.20.2", "22.11.0", "23.5.0", "25.0.0", "18.20.8"].filter((v) => isSupportedNode(v))).toEqual([]);
    });

    it("stops an older one with a plain error that says how to get Node.js 22", () => {
        expect(() => requireSupportedNode("24.11.1")).not.toThrow();
        const error = (() => {
            try {
                requireSupportedNode("20.20.2");
            } catch (e) {
                return e as Error;
            }
        })();
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect(error?.message).toMatch(/^Node\.js 20\.20\.2 is not supported: this program needs Node\.js \^22\.12\.0 \|\| \^24\.0\.0\./);
        expect(error?.message).toContain('export PATH="$(scripts/node-path.sh):$PATH"');
    });
});

describe("a user's error", () => {
    it("is a RunError whose stack is its message (no frames, whatever prints it)", () => {
        const error = new UserError("two lines:\n  - one");
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect(error.stack).toBe("two lines:\n  - one");
    });
});
