/**
 * No lockout, measured: after every step's apply and every step's remove, one at a time as an `up` and a
 * `destroy` run them, and after a run that fails, a new SSH login of the admin user who runs the program
 * succeeds and `sudo -n true` works, with sshd using PAM (`UsePAM yes`: its account and session stacks run
 * for every connection). A PAM or NSS change the host cannot load (a misspelled module, a module glibc
 * cannot open) would fail here at the step that made it, before `destroy` could no longer reach the host.
 * A run whose results were lost is destroyed by the preflight's remove alone; a destroy whose own result was
 * lost runs that remove again, on a host already restored.
 * On the RHEL stand-ins sshd, sudo and su use RHEL's PAM files (authselect's password-auth, system-auth,
 * postlogin). Workbench's NSS module is a real one (see outcome.ts), on nsswitch.conf's lines after the nss step.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, hostValues, removeAll } from "./driver";
import { runStep } from "./one-step";
import { applyOneByOne, expectAdminCanLogIn, removeOneByOne, serve, sshdUsePam, STEPS_IN_ORDER } from "./outcome";

const HOSTS = [
    { os: "debian" as const, authselect: undefined },
    { os: "rocky9" as const, authselect: "sssd with-faillock" },
    { os: "rocky10" as const, authselect: "sssd with-faillock" },
];

describe.concurrent.each(HOSTS)("no lockout on $os", { timeout: 300_000 }, ({ os, authselect }) => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os, authselect, pamServices: os === "debian" ? undefined : "rhel" });
        // Workbench serves a provisioned user (and, on RHEL, SSSD's stand-in another) through every login's lookups.
        await serve(sb, "pwb", [{ name: "wbuser", uid: 20001, gid: 20001, home: "/home/wbuser" }], [{ name: "wbuser", gid: 20001 }]);
        await serve(sb, "sss", [{ name: "sssuser", uid: 30001, gid: 30001, home: "/home/sssuser" }], [{ name: "sssuser", gid: 30001 }]);
    });
    afterAll(() => sb?.stop());

    it("sshd uses PAM, and the admin logs in before any step", { concurrent: false }, async () => {
        expect(await sshdUsePam(sb)).toBe("usepam yes");
        if (os !== "debian") expect(await sb.readFile("/etc/pam.d/sshd")).toContain("include      password-auth");
        await expectAdminCanLogIn(sb, "nothing (the host as it was)");
    });

    it("after each step's apply, and each step's remove", { concurrent: false }, async () => {
        const seen: string[] = [];
        await applyOneByOne(sb, async (step) => {
            await expectAdminCanLogIn(sb, `the ${step} step's apply`);
            seen.push(`apply ${step}`);
        });
        await removeOneByOne(sb, async (step) => {
            await expectAdminCanLogIn(sb, `the ${step} step's remove`);
            seen.push(`remove ${step}`);
        });
        expect(seen).toEqual([...STEPS_IN_ORDER.map((s) => `apply ${s}`), ...[...STEPS_IN_ORDER].reverse().map((s) => `remove ${s}`)]);
    });

    it("after a run that fails (Workbench refuses the configuration) and its destroy", { concurrent: false }, async () => {
        await sb.exec("cp /usr/lib/standin/rserver-options.txt /tmp/options && sed -i '/^user-provisioning-start-uid /d' /usr/lib/standin/rserver-options.txt");
        await expect(applyAll(sb, hostValues({ startUid: 20000 }))).rejects.toThrow(/test-config rejected/);
        await expectAdminCanLogIn(sb, "a run that failed at rserver-conf");
        await removeAll(sb, hostValues({ startUid: 20000 }));
        await expectAdminCanLogIn(sb, "the destroy of a run that failed");
        await sb.exec("cp /tmp/options /usr/lib/standin/rserver-options.txt");
    });

    it("after a run whose results were lost (only the preflight in the state), its destroy, and that destroy run again", { concurrent: false }, async () => {
        await applyAll(sb, hostValues());
        await expectAdminCanLogIn(sb, "a run whose results were lost");
        await removeAll(sb, hostValues(), { inState: ["preflight"] });
        await expectAdminCanLogIn(sb, "the destroy of a run whose results were lost");
        // The destroy's result lost in turn (the connection cut once the host was restored): it runs again.
        const again = await runStep(sb, "preflight", "remove");
        expect(again.code, `the preflight's remove on a host already restored: ${again.stderr}`).toBe(0);
        expect((await sb.exec("test -e /var/lib/posit-workbench-entra || echo gone")).stdout).toBe("gone\n");
        await expectAdminCanLogIn(sb, "a destroy run again");
    });
});
