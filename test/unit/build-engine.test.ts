// scripts/build-engine.sh's answers when it cannot build: no vendored sources, an altered tarball,
// an installed engine named by WB_ENGINE_DIR (all decided before anything is built).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = join(__dirname, "../../scripts/build-engine.sh");
const run = (env: Record<string, string>) => {
    const r = spawnSync(SCRIPT, [], { env: { ...process.env, WB_ENGINE_DIR: "", ...env }, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe("build-engine.sh", () => {
    it("says in one line that the vendored sources are missing and how to use an installed engine instead", () => {
        const r = run({ WB_VENDOR_DIR: join(tmpdir(), "no-such-vendor-dir") });
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(/vendored sources not found: .*SHA256SUMS is missing.*WB_VENDOR_DIR.*WB_ENGINE_DIR/);
    });

    it("refuses a tarball that does not match its checksum, before building anything", () => {
        const vendor = mkdtempSync(join(tmpdir(), "wb-vendor-"));
        for (const name of ["pulumi-language-nodejs-v3.248.0.tar.gz", "pulumi-command-v1.2.1.tar.gz"])
            writeFileSync(join(vendor, name), "not the upstream tarball");
        writeFileSync(
            join(vendor, "SHA256SUMS"),
            ["pulumi-language-nodejs-v3.248.0.tar.gz", "pulumi-command-v1.2.1.tar.gz"].map((n) => `${"0".repeat(64)}  ${n}\n`).join(""),
        );
        const r = run({ WB_VENDOR_DIR: vendor, WB_ENGINE_CACHE: join(vendor, "cache") });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/pulumi-language-nodejs-v3\.248\.0\.tar\.gz is missing or does not match its checksum in SHA256SUMS; nothing was built/);
    });

    it("uses the engine WB_ENGINE_DIR names, and refuses one without all three binaries", () => {
        const dir = mkdtempSync(join(tmpdir(), "wb-engine-"));
        mkdirSync(join(dir, "bin"));
        for (const name of ["pulumi", "pulumi-language-nodejs"]) {
            writeFileSync(join(dir, "bin", name), "#!/bin/sh\n");
            chmodSync(join(dir, "bin", name), 0o755);
        }
        const incomplete = run({ WB_ENGINE_DIR: join(dir, "bin") });
        expect(incomplete.code).toBe(1);
        expect(incomplete.stderr).toMatch(/WB_ENGINE_DIR=.* must hold executable pulumi pulumi-language-nodejs pulumi-resource-command/);
        writeFileSync(join(dir, "bin", "pulumi-resource-command"), "#!/bin/sh\n");
        chmodSync(join(dir, "bin", "pulumi-resource-command"), 0o755);
        expect(run({ WB_ENGINE_DIR: join(dir, "bin") })).toMatchObject({ code: 0, stdout: `${join(dir, "bin")}\n` });
    });
});
