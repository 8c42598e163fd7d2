/**
 * An arm64 Debian/Ubuntu host, over real SSH: Workbench's NSS module in /usr/lib/aarch64-linux-gnu, not in
 * the x86_64 directory (a sandbox with the aarch64 layout). The preflight and the nss step find it there;
 * without any module they stop naming every place they looked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, hostValues, removeAll, resultOf } from "./driver";
import { expectUntouched, runStep, snapshot } from "./one-step";

const MODULE = "/usr/lib/aarch64-linux-gnu/libnss_pwb.so.2";
const MISSING =
    "the Workbench NSS module libnss_pwb.so.2 is missing (looked in /usr/lib/*-linux-gnu /lib/*-linux-gnu): user provisioning needs a Workbench release that ships it";

describe("a Debian host with the arm64 (aarch64) library layout", () => {
    let sb: Sandbox;
    let nsswitch: string;

    beforeAll(async () => {
        sb = await startSandbox({ arch: "aarch64" });
        nsswitch = await sb.readFile("/etc/nsswitch.conf");
    });
    afterAll(() => sb?.stop());

    it("has the module in the aarch64 directory only", async () => {
        // (/lib is /usr/lib on a merged-/usr Debian: one file)
        expect((await sb.exec("realpath /usr/lib/*-linux-gnu/libnss_pwb.so.2 /lib/*-linux-gnu/libnss_pwb.so.2 2>/dev/null | sort -u")).stdout).toBe(
            `${MODULE}\n`,
        );
        expect((await sb.exec("test -e /usr/lib/x86_64-linux-gnu/libnss_pwb.so.2 || echo absent")).stdout).toBe("absent\n");
    });

    it("passes the preflight and the nss step, and the whole run", async () => {
        const run = await applyAll(sb, hostValues());
        expect(resultOf(run, "preflight")?.stdout).toMatch(/^os-family=debian\n/);
        expect(resultOf(run, "nss")?.stdout).toBe("nsswitch=changed\n");
        expect(await sb.readFile("/etc/nsswitch.conf")).toMatch(/^passwd:.*\spwb(\s|$)/m);
        expect(resultOf(run, "restart")?.stdout).toMatch(/restart=done[\s\S]*health=ok/);
        const check = await runStep(sb, "nss", "check");
        expect(check.code, check.stderr).toBe(0);
        expect(check.stdout).toBe("check=in-sync\n");
    });

    it("restores nsswitch.conf on destroy", async () => {
        await removeAll(sb, hostValues());
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(nsswitch);
    });

    it("stops the preflight, and the nss step, naming where it looked, when no module is installed", async () => {
        await sb.exec(`rm ${MODULE}`);
        const before = await snapshot(sb);
        const preflight = await runStep(sb, "preflight", "apply");
        expect(preflight.code).toBe(1);
        expect(preflight.stderr).toBe(`preflight: ERROR: ${MISSING}\n`);
        await expectUntouched(sb, before);
        // The step alone (a later run, say) checks again before it writes.
        const nss = await runStep(sb, "nss", "apply");
        expect(nss.code).toBe(1);
        expect(nss.stderr).toBe(`nss: ERROR: ${MISSING}\n`);
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(nsswitch);
    });
});
