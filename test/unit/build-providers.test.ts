// scripts/build-providers.sh's answers when it cannot build: no vendored sources, an altered tarball,
// installed providers named by WB_PROVIDERS_DIR (all decided before anything is built).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = join(__dirname, "../../scripts/build-providers.sh");
const TARBALLS = [
    "pulumi-azuread-v6.9.1.tar.gz",
    "terraform-provider-azuread-38d1993a1ea6.tar.gz",
    "pulumi-terraform-bridge-v3.130.0.tar.gz",
    "pulumi-pkg-v3.242.0.tar.gz",
    "pulumi-time-v0.1.1.tar.gz",
];
const run = (env: Record<string, string>) => {
    const r = spawnSync(SCRIPT, [], { env: { ...process.env, WB_PROVIDERS_DIR: "", ...env }, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe("build-providers.sh", () => {
    it("says in one line that the vendored sources are missing and how to use installed providers instead", () => {
        const r = run({ WB_VENDOR_DIR: join(tmpdir(), "no-such-vendor-dir") });
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(/vendored sources not found: .*SHA256SUMS is missing.*WB_VENDOR_DIR.*WB_PROVIDERS_DIR/);
    });

    it("refuses a tarball that does not match its checksum, before building anything", () => {
        const vendor = mkdtempSync(join(tmpdir(), "wb-vendor-"));
        for (const name of TARBALLS) writeFileSync(join(vendor, name), "not the upstream tarball");
        writeFileSync(join(vendor, "SHA256SUMS"), TARBALLS.map((n) => `${"0".repeat(64)}  ${n}\n`).join(""));
        const r = run({ WB_VENDOR_DIR: vendor, WB_PROVIDERS_CACHE: join(vendor, "cache") });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/pulumi-azuread-v6\.9\.1\.tar\.gz is missing or does not match its checksum in SHA256SUMS; nothing was built/);
    });

    it("uses the providers WB_PROVIDERS_DIR names, and refuses a directory without both", () => {
        const dir = mkdtempSync(join(tmpdir(), "wb-providers-"));
        writeFileSync(join(dir, "pulumi-resource-azuread"), "#!/bin/sh\n");
        chmodSync(join(dir, "pulumi-resource-azuread"), 0o755);
        const incomplete = run({ WB_PROVIDERS_DIR: dir });
        expect(incomplete.code).toBe(1);
        expect(incomplete.stderr).toMatch(/WB_PROVIDERS_DIR=.* must hold executable pulumi-resource-azuread pulumi-resource-time/);
        writeFileSync(join(dir, "pulumi-resource-time"), "#!/bin/sh\n");
        chmodSync(join(dir, "pulumi-resource-time"), 0o755);
        expect(run({ WB_PROVIDERS_DIR: dir })).toMatchObject({ code: 0, stdout: `${dir}\n` });
    });
});
