/**
 * The preflight's Workbench version floor, over real SSH against a sandbox Debian host whose stand-in
 * reports the release a test writes to /var/lib/standin/version: JIT provisioning needs 2024.09.0, JIT
 * provisioning of groups (jitGroups) 2025.09.0, SCIM 2024.04.0 (2024.04.x passes with a warning about its provisioning bugs); a release below the floor, or
 * an answer that is no version, stops the run before anything is written. Without WB_PROVISIONING (an
 * older caller) there is no floor.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { expectUntouched, runStep, snapshot } from "./one-step";

const VERSION_FILE = "/var/lib/standin/version";
const SCIM_BUGS = [
    "users who tried to sign in before they were provisioned cannot sign in afterwards",
    "NSS requests can fail",
    "fixed in 2024.09.0",
    "set server-address=unix:/var/run/rstudio-server/rstudio-rserver/user-service.socket in /etc/rstudio/workbench-nss.conf",
];

describe("the preflight's Workbench version floor", () => {
    let sb: Sandbox;

    beforeAll(async () => {
        sb = await startSandbox();
    });
    afterAll(() => sb?.stop());

    /** The preflight with the stand-in reporting `version` (the stand-in's own when undefined). */
    async function preflight(version: string | undefined, provisioning?: "jit" | "jit-groups" | "scim") {
        if (version === undefined) await sb.exec(`rm -f ${VERSION_FILE}`);
        else await sb.writeFile(VERSION_FILE, version);
        return runStep(sb, "preflight", "apply", { WB_PROVISIONING: provisioning ?? "" });
    }

    /** A refusal: exit 1, one error line, and nothing written. */
    async function refused(version: string, provisioning: "jit" | "jit-groups" | "scim"): Promise<string> {
        const before = await snapshot(sb);
        const result = await preflight(version, provisioning);
        expect(result.code, result.stderr).toBe(1);
        expect(result.stdout).toBe("");
        await expectUntouched(sb, before);
        // The check action (npm run check) stops the same way.
        const check = await runStep(sb, "preflight", "check", { WB_PROVISIONING: provisioning });
        expect(check.code).toBe(1);
        expect(check.stderr).toBe(result.stderr);
        return result.stderr;
    }

    it("refuses JIT provisioning on 2024.04.2", async () => {
        expect(await refused("2024.04.2+764.pro1 Workbench (Chocolate Cosmos) for Ubuntu Jammy\n", "jit")).toBe(
            "preflight: ERROR: Posit Workbench 2024.04.2 is installed; JIT provisioning needs Workbench 2024.09.0 or later " +
                "(Posit's release notes: SCIM provisioning arrived in 2024.04.0, JIT provisioning in 2024.09.0, JIT provisioning of groups in 2025.09.0). " +
                "Upgrade Workbench, then run pulumi again; nothing was changed\n",
        );
    });

    it("refuses JIT provisioning of groups below 2025.09.0, naming the release and the key that asks for it", async () => {
        expect(await refused("2025.05.1+513.pro3 Workbench (Mariposa Orchid) for Ubuntu Jammy\n", "jit-groups")).toBe(
            "preflight: ERROR: Posit Workbench 2025.05.1 is installed; JIT provisioning of groups (jitGroups: true) needs Workbench 2025.09.0 or later " +
                "(Posit's release notes: SCIM provisioning arrived in 2024.04.0, JIT provisioning in 2024.09.0, JIT provisioning of groups in 2025.09.0). " +
                "Upgrade Workbench (or set jitGroups to false), then run pulumi again; nothing was changed\n",
        );
        // The stand-in's own release (2024.12.1) is below it too.
        expect(await refused("2024.12.1+563.pro5 Workbench (Kousa Dogwood) for Ubuntu Jammy\n", "jit-groups")).toContain("needs Workbench 2025.09.0 or later");
    });

    it("refuses SCIM provisioning on 2023.12.1", async () => {
        expect(await refused("2023.12.1+402.pro1 Workbench (Ocean Storm) for Ubuntu Jammy\n", "scim")).toMatch(
            /^preflight: ERROR: Posit Workbench 2023\.12\.1 is installed; SCIM provisioning needs Workbench 2024\.04\.0 or later/,
        );
    });

    it("refuses when rstudio-server version prints no version, quoting what it printed", async () => {
        const stderr = await refused("RStudio Server (built from source)\nsee --help\n", "jit");
        expect(stderr).toMatch(
            /^preflight: ERROR: cannot tell which Posit Workbench release is installed: 'rstudio-server version' printed 'RStudio Server \(built from source\) see --help', not a version/,
        );
        expect(stderr).toContain("JIT provisioning needs Workbench 2024.09.0 or later");
        // A version with a fourth part is not taken for its first three.
        expect(await refused("2024.12.1.5 Workbench\n", "scim")).toContain("printed '2024.12.1.5 Workbench'");
    });

    it("passes SCIM provisioning on 2024.04.1 with a warning naming its bugs and the upgrade step", async () => {
        const result = await preflight("2024.04.1+748.pro2 Workbench (Chocolate Cosmos) for Ubuntu Jammy\n", "scim");
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(/^os-family=debian\nsecure-cookie-key-sha256=[0-9a-f]{64}\n$/);
        const warnings = result.stderr.split("\n").filter((l) => l.startsWith("preflight: warning: "));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("Posit Workbench 2024.04.1 has SCIM provisioning bugs");
        for (const part of SCIM_BUGS) expect(warnings[0]).toContain(part);
    });

    it("passes the current release and the floors themselves (2024.04.0 with SCIM warned about)", async () => {
        for (const [version, provisioning] of [
            [undefined, "jit"],
            [undefined, "scim"],
            ["2024.09.0+375.pro2 Workbench (Cranberry Hibiscus) for Ubuntu Jammy\n", "jit"],
            ["2024.09.0+375.pro2 Workbench (Cranberry Hibiscus) for Ubuntu Jammy\n", "scim"],
            ["2024.04.0+735.pro3 Workbench (Chocolate Cosmos) for Ubuntu Jammy\n", "scim"],
            ["2025.05.0-daily+12.pro1 Workbench for Ubuntu Jammy\n", "jit"],
            ["2025.09.0+387.pro2 Workbench (Cucumberleaf Sunflower) for Ubuntu Jammy\n", "jit-groups"],
            ["2026.01.0+392.pro1 Workbench for Ubuntu Jammy\n", "jit-groups"],
        ] as const) {
            const result = await preflight(version, provisioning);
            expect(result.code, `${version} ${provisioning}: ${result.stderr}`).toBe(0);
            if (version?.startsWith("2024.04.")) expect(result.stderr).toMatch(/^preflight: warning: Posit Workbench 2024\.04\.0 has SCIM provisioning bugs/);
            else expect(result.stderr, `${version} ${provisioning}`).toBe("");
        }
    });

    it("checks no version when the caller gives no provisioning", async () => {
        const result = await preflight("2023.12.1+402.pro1 Workbench (Ocean Storm) for Ubuntu Jammy\n");
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toBe("");
    });
});
