/**
 * pwb's place in the passwd, group and shadow lookups, over real SSH: Posit's guide needs it before sss
 * (the program puts it before winbind, nis and ldap too). A pwb moved after the directory source is
 * drift: the nss step's check shows the diff that puts it back, its apply puts it back, and the restart
 * step's verification of the nsswitch.conf in force names the database and the order found (on RHEL too,
 * where that file is authselect's: a custom profile of the host's own, which the nss step leaves to it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, hostValues, removeAll, resultOf } from "./driver";
import { runStep } from "./one-step";

const DBS = ["passwd", "group", "shadow"] as const;

/** The problem= lines of a check's output. */
const problems = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("problem="));

/** The restart step's problem for a database whose line (as the check prints it, one space apart) has pwb after the directory source. */
const misplaced = (line: string) =>
    `problem=pwb comes after a directory source in the ${line.split(":")[0]} lookups of /etc/nsswitch.conf (${line}): Posit's guide needs pwb before sss; lookups would ask the directory before Workbench's provisioned users`;

describe("a Debian host whose nsswitch.conf has pwb moved after sss", { timeout: 300_000 }, () => {
    let sb: Sandbox;
    let original: string;
    let applied: string;
    beforeAll(async () => {
        sb = await startSandbox({ nscd: false });
        await sb.exec(String.raw`sed -i -E 's/^(passwd|group|shadow):([[:space:]]*).*$/\1:\2files sss/' /etc/nsswitch.conf`);
        original = await sb.readFile("/etc/nsswitch.conf");
        await applyAll(sb, hostValues());
        applied = await sb.readFile("/etc/nsswitch.conf");
        for (const db of DBS) expect(applied).toMatch(new RegExp(`^${db}:\\s+files pwb sss$`, "m"));
        await sb.exec(String.raw`sed -i -E 's/ pwb sss$/ sss pwb/' /etc/nsswitch.conf`);
    });
    afterAll(() => sb?.stop());

    it("the nss step's check shows it as a change, with the diff that puts pwb back before sss", async () => {
        const check = await runStep(sb, "nss", "check");
        expect(check.code, check.stderr).toBe(0);
        expect(check.stdout).toContain("note=/etc/nsswitch.conf would change:\n");
        const diff = check.stdout.split("\n");
        for (const line of applied.split("\n").filter((l) => /^(passwd|group|shadow):/.test(l))) {
            expect(diff).toContain(`-${line.replace(/ pwb sss$/, " sss pwb")}`);
            expect(diff).toContain(`+${line}`);
        }
        expect(check.stdout).toMatch(/\ncheck=would-change\n$/);
    });

    it("the restart step's verification names each database and the order found", async () => {
        const check = await runStep(sb, "restart", "check");
        expect(check.code, check.stderr).toBe(0);
        expect(problems(check.stdout)).toEqual(DBS.map((db) => misplaced(`${db}: files sss pwb`)));
    });

    it("the nss step's apply puts pwb back before sss; then the check is in sync and the verification passes; destroy gives the original back", async () => {
        const apply = await runStep(sb, "nss", "apply");
        expect(apply.code, apply.stderr).toBe(0);
        expect(apply.stdout).toBe("nsswitch=changed\n");
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(applied);
        expect((await runStep(sb, "nss", "check")).stdout).toBe("check=in-sync\n");
        expect(problems((await runStep(sb, "restart", "check")).stdout)).toEqual([]);
        expect(resultOf(await removeAll(sb, hostValues()), "nss")?.code).toBe(0);
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(original);
    });
});

describe("a rocky9 host whose own authselect profile has pwb after sss", { timeout: 300_000 }, () => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox({ osRelease: "rocky9", nscd: false, authselect: "sssd" });
        const template = "/etc/authselect/custom/site/nsswitch.conf";
        await sb.exec(
            `authselect create-profile site --base-on=sssd && sed -i -E '/^(passwd|group|shadow):/d' ${template}` +
                ` && printf '%s\\n' 'passwd: files sss pwb systemd' 'group: files sss pwb systemd' 'shadow: files sss pwb' >> ${template}` +
                " && authselect select custom/site",
        );
    });
    afterAll(() => sb?.stop());

    it("the restart step's verification of the nsswitch.conf in force names each database and the order found", async () => {
        expect((await sb.exec("readlink /etc/nsswitch.conf")).stdout).toBe("/etc/authselect/nsswitch.conf\n");
        const check = await runStep(sb, "restart", "check");
        expect(check.code, check.stderr).toBe(0);
        expect(problems(check.stdout)).toEqual([
            misplaced("passwd: files sss pwb systemd"),
            misplaced("group: files sss pwb systemd"),
            misplaced("shadow: files sss pwb"),
        ]);
        expect(check.stdout).toContain("note=authselect profile in force: custom/site");
    });
});
