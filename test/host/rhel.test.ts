/**
 * The host steps on RHEL-family hosts over real SSH, with the real authselect (built from
 * ../shared/vendor): 1.2.6 as on RHEL 8 and 9 ("rocky9" sandboxes), 1.5.2 as on RHEL 10 ("rocky10").
 * rpm, dnf and oddjobd are stand-ins (dnf's calls are logged in /var/log/standin/dnf.log).
 * Each suite has a sandbox of its own: the suites run side by side, the tests of a suite in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, fingerprints, hostValues, removeAll, resultOf, Run, StepError } from "./driver";

type Os = "rocky9" | "rocky10";
const LINES: Array<{ os: Os; line: string }> = [
    { os: "rocky9", line: "1.2" },
    { os: "rocky10", line: "1.5" },
];

/** The files the brief names: what destroy must give back byte for byte. */
const PAM_FILES = ["system-auth", "password-auth", "fingerprint-auth", "smartcard-auth", "postlogin"].map((f) => `/etc/pam.d/${f}`);
const KEY_FILES = ["/etc/nsswitch.conf", ...PAM_FILES, "/etc/authselect/authselect.conf"];

/** Their contents (through authselect's links). */
async function contents(sb: Sandbox): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const path of KEY_FILES) out[path] = await sb.readFile(path);
    return out;
}

/**
 * Everything authselect writes or keeps, one line per entry: links with their target, files with
 * mode, owner and content hash (its copies in /var/lib/authselect, backups, custom profiles too).
 */
async function authselectTree(sb: Sandbox): Promise<string[]> {
    const r =
        await sb.exec(String.raw`find /etc/nsswitch.conf /etc/pam.d /etc/authselect /var/lib/authselect /etc/dconf 2>/dev/null | sort | while read -r p; do
        if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
        elif [ -d "$p" ]; then echo "$p/ $(stat -c '%a %U:%G' "$p")"
        else echo "$p $(stat -c '%a %U:%G' "$p") $(sha256sum < "$p" | cut -c1-16)"; fi
    done`);
    return r.stdout.split("\n").filter(Boolean);
}

/** The services of one nsswitch.conf database, without the [STATUS=action] items. */
function services(nsswitch: string, db: string): string[] {
    const line = nsswitch.split("\n").find((l) => l.startsWith(`${db}:`));
    return line === undefined
        ? []
        : line
              .slice(db.length + 1)
              .trim()
              .split(/\s+/)
              .filter((w) => !w.startsWith("["));
}

const WORKBENCH_FILES = ["/etc/rstudio/rserver.conf", "/etc/rstudio/openid-client-secret", "/etc/pam.d/common-session"];

const current = async (sb: Sandbox) => (await sb.exec("authselect current --raw")).stdout.trim();
const dnfLog = async (sb: Sandbox) => (await sb.exec("cat /var/log/standin/dnf.log 2>/dev/null || true")).stdout;

/** The preflight's refusal of a run, checked to have left every authselect file as it was. */
async function refusedBeforeAnyChange(sb: Sandbox): Promise<string> {
    const tree = await authselectTree(sb);
    const attempt = await applyAll(sb, hostValues()).catch((e: unknown) => e);
    expect(attempt).toBeInstanceOf(StepError);
    const error = attempt as StepError;
    expect(error.step).toBe("preflight");
    expect(await authselectTree(sb)).toEqual(tree);
    expect(await dnfLog(sb)).toBe("");
    expect((await sb.exec("test -e /var/lib/posit-workbench-entra/nss.rhel || echo none")).stdout).toBe("none\n");
    return error.result.stderr;
}

const FRESH: Array<{ os: Os; line: string; profile: string; features: string; source?: string }> = [
    { os: "rocky9", line: "1.2", profile: "sssd", features: "with-faillock", source: "sss" },
    { os: "rocky9", line: "1.2", profile: "winbind", features: "with-faillock", source: "winbind" },
    { os: "rocky9", line: "1.2", profile: "nis", features: "with-mkhomedir with-faillock", source: "nis" },
    { os: "rocky9", line: "1.2", profile: "minimal", features: "with-faillock" },
    { os: "rocky10", line: "1.5", profile: "sssd", features: "with-mkhomedir with-faillock", source: "sss" },
    { os: "rocky10", line: "1.5", profile: "winbind", features: "with-faillock", source: "winbind" },
    { os: "rocky10", line: "1.5", profile: "local", features: "with-faillock" },
];

describe.concurrent.each(FRESH)("a fresh $os host (authselect $line) on $profile $features", ({ os, profile, features, source }) => {
    let sb: Sandbox;
    let before: { contents: Record<string, string>; tree: string[]; nsswitch: string; workbench: Record<string, string> };
    let first: Run;

    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os, nscd: false, authselect: `${profile} ${features}` });
        before = {
            contents: await contents(sb),
            tree: await authselectTree(sb),
            nsswitch: await sb.readFile("/etc/nsswitch.conf"),
            workbench: await fingerprints(sb, WORKBENCH_FILES),
        };
        first = await applyAll(sb, hostValues());
    });
    afterAll(() => sb?.stop());

    it(`selects custom/pwb based on ${profile}, with the features that were on and with-mkhomedir`, { concurrent: false }, async () => {
        expect(await current(sb)).toBe(`custom/pwb ${features}${features.includes("with-mkhomedir") ? "" : " with-mkhomedir"}`);
        expect((await sb.exec("readlink /etc/authselect/custom/pwb/system-auth")).stdout).toContain(`/${profile}/system-auth`);
        expect((await sb.exec("authselect check")).code).toBe(0);
        expect(resultOf(first, "nss")?.stdout).toContain("authselect=changed");
    });

    it(`puts pwb on passwd, group and shadow${source ? ` right before ${source}` : ""}, keeping every other service`, { concurrent: false }, async () => {
        const nsswitch = await sb.readFile("/etc/nsswitch.conf");
        for (const db of ["passwd", "group", "shadow"]) {
            const now = services(nsswitch, db);
            const was = services(before.nsswitch, db);
            expect(
                now.filter((s) => s !== "pwb"),
                db,
            ).toEqual(was);
            expect(
                now.filter((s) => s === "pwb"),
                db,
            ).toHaveLength(1);
            if (source && was.includes(source)) expect(now[now.indexOf(source) - 1], db).toBe("pwb");
        }
        // The other databases are the profile's as before.
        const others = (text: string) => text.split("\n").filter((l) => /^[a-z]+:/.test(l) && !/^(passwd|group|shadow):/.test(l));
        expect(others(nsswitch)).toEqual(others(before.nsswitch));
    });

    it("installs oddjob-mkhomedir and enables oddjobd, and leaves Debian's common-session alone", { concurrent: false }, async () => {
        expect(await dnfLog(sb)).toMatch(/install -y oddjob-mkhomedir/);
        expect((await sb.exec("systemctl is-enabled oddjobd; systemctl is-active oddjobd")).stdout).toBe("enabled\nactive\n");
        expect((await sb.exec("grep -c pam_oddjob_mkhomedir /etc/pam.d/system-auth")).stdout.trim()).not.toBe("0");
        expect((await fingerprints(sb, WORKBENCH_FILES))["/etc/pam.d/common-session"]).toBe(before.workbench["/etc/pam.d/common-session"]);
    });

    it("changes nothing on a second run", { concurrent: false }, async () => {
        const tree = await authselectTree(sb);
        const second = await applyAll(sb, hostValues());
        expect(await authselectTree(sb)).toEqual(tree);
        expect(resultOf(second, "nss")?.stdout).toContain("authselect=unchanged");
        expect(resultOf(second, "home-directories")?.stdout).toContain("mkhomedir=unchanged");
    });

    it(
        "gives back nsswitch.conf, the PAM files and authselect.conf byte for byte on destroy, and everything else authselect keeps",
        { concurrent: false },
        async () => {
            // As an authselect update does in between (its package runs apply-changes): 1.2 dates the files anew.
            expect((await sb.exec("sleep 1 && authselect apply-changes")).code).toBe(0);
            const removed = await removeAll(sb, hostValues());
            expect(resultOf(removed, "nss")?.stdout).toContain("authselect=restored");
            expect(await contents(sb)).toEqual(before.contents);
            expect(await authselectTree(sb)).toEqual(before.tree);
            expect(await current(sb)).toBe(`${profile} ${features}`);
            expect((await sb.exec("authselect check")).code).toBe(0);
            expect((await sb.exec("systemctl is-enabled oddjobd")).stdout.trim()).toBe("disabled");
            expect(await fingerprints(sb, WORKBENCH_FILES)).toEqual(before.workbench);
        },
    );
});

describe.concurrent.each(LINES)("a $os host (authselect $line) whose nsswitch.conf an administrator edited", ({ os }) => {
    let sb: Sandbox;

    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os, nscd: false, authselect: "sssd with-faillock" });
    });
    afterAll(() => sb?.stop());

    it("stops in the preflight, before any package is installed, naming the file and the way out", { concurrent: false }, async () => {
        // Through the link, as an editor that keeps links writes: authselect 1.5's own check misses it.
        await sb.exec("sed -i --follow-symlinks 's/^hosts:.*/& # admin/' /etc/nsswitch.conf");
        const message = await refusedBeforeAnyChange(sb);
        expect(message).toContain("authselect's files were changed outside authselect: /etc/nsswitch.conf");
        expect(message).toContain("'authselect select sssd with-faillock --force'");
        expect(message).toContain("authselect create-profile");
    });

    it("stops too when the link was replaced by a file", { concurrent: false }, async () => {
        await sb.exec("sed -i 's/ # admin$//' /etc/nsswitch.conf && test ! -L /etc/nsswitch.conf");
        expect(await refusedBeforeAnyChange(sb)).toContain("changed outside authselect: /etc/nsswitch.conf");
    });

    it("runs once the administrator has decided (here: dropping the edit as the message says)", { concurrent: false }, async () => {
        await sb.exec("authselect select sssd with-faillock --force --nobackup");
        await applyAll(sb, hostValues());
        expect(await current(sb)).toBe("custom/pwb with-faillock with-mkhomedir");
    });

    it("does not force a destroy over a hand edit made since either", { concurrent: false }, async () => {
        await sb.exec("sed -i --follow-symlinks 's/^hosts:.*/& # admin/' /etc/nsswitch.conf");
        const edited = await sb.readFile("/etc/nsswitch.conf");
        const attempt = await removeAll(sb, hostValues()).catch((e: unknown) => e);
        expect(attempt).toBeInstanceOf(StepError);
        expect((attempt as StepError).step).toBe("nss");
        expect((attempt as StepError).result.stderr).toContain("changed outside authselect: /etc/nsswitch.conf");
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(edited);
        await sb.exec("sed -i --follow-symlinks 's/ # admin$//' /etc/nsswitch.conf");
    });

    it("keeps a feature turned on since when it destroys, and drops only its own", { concurrent: false }, async () => {
        await sb.exec("authselect enable-feature with-pamaccess");
        const removed = await removeAll(sb, hostValues());
        expect(resultOf(removed, "nss")?.stdout).toContain("authselect=reselected");
        expect(await current(sb)).toBe("sssd with-faillock with-pamaccess");
        expect((await sb.exec("authselect check")).code).toBe(0);
        expect((await sb.exec("ls /etc/authselect/custom /var/lib/authselect/backups")).stdout).not.toMatch(/pwb|posit-workbench-entra/);
    });
});

describe.concurrent.each(LINES)("a $os host (authselect $line) on a custom profile of its own", ({ os }) => {
    let sb: Sandbox;
    let before: { contents: Record<string, string>; tree: string[] };

    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os, nscd: false, authselect: "sssd" });
        await sb.exec("authselect create-profile site --base-on=sssd && authselect select custom/site with-faillock");
    });
    afterAll(() => sb?.stop());

    it("stops in the preflight with nothing changed, saying how to add pwb to it", { concurrent: false }, async () => {
        const message = await refusedBeforeAnyChange(sb);
        expect(message).toContain("the host uses its own authselect profile custom/site");
        expect(message).toContain("/etc/authselect/custom/site/nsswitch.conf");
    });

    it("leaves NSS to that profile once it has pwb, turns on with-mkhomedir, and gives everything back on destroy", { concurrent: false }, async () => {
        const template = "/etc/authselect/custom/site/nsswitch.conf";
        await sb.exec(
            `sed -i -E '/^(passwd|group|shadow):/d' ${template} && printf '%s\\n' 'passwd: files pwb sss systemd' 'group: files pwb sss systemd' 'shadow: files pwb sss' >> ${template} && authselect apply-changes`,
        );
        before = { contents: await contents(sb), tree: await authselectTree(sb) };
        const run = await applyAll(sb, hostValues());
        expect(resultOf(run, "nss")?.stdout).toContain("authselect=unchanged");
        expect(await current(sb)).toBe("custom/site with-faillock with-mkhomedir");
        expect((await sb.exec("test -e /etc/authselect/custom/pwb || echo none")).stdout).toBe("none\n");
        await removeAll(sb, hostValues());
        expect(await contents(sb)).toEqual(before.contents);
        expect(await authselectTree(sb)).toEqual(before.tree);
    });
});

describe.concurrent.each(LINES)("a $os host (authselect $line) never configured with authselect", ({ os }) => {
    let sb: Sandbox;

    beforeAll(async () => {
        sb = await startSandbox({ osRelease: os, nscd: false, authselect: "none" });
    });
    afterAll(() => sb?.stop());

    it("stops in the preflight with nothing changed, saying so", { concurrent: false }, async () => {
        const nsswitch = await sb.readFile("/etc/nsswitch.conf");
        const message = await refusedBeforeAnyChange(sb);
        expect(message).toContain("authselect does not manage this host (authselect current: No existing configuration detected.)");
        expect(message).toContain("add pwb to nsswitch.conf by hand, or opt in first with 'authselect select <profile>'");
        expect(await sb.readFile("/etc/nsswitch.conf")).toBe(nsswitch);
    });
});

describe("a rocky9 host without oddjob-mkhomedir and without dnf to install it", () => {
    let sb: Sandbox;

    beforeAll(async () => {
        sb = await startSandbox({ osRelease: "rocky9", nscd: false });
        await sb.exec("rm /usr/bin/dnf");
    });
    afterAll(() => sb?.stop());

    it("stops in the preflight with nothing changed, saying what to install", async () => {
        const message = await refusedBeforeAnyChange(sb);
        expect(message).toBe(
            "preflight: ERROR: oddjob-mkhomedir (which creates home directories at first login) is not installed and there is no dnf to install it: install it with your package tooling (rpm -i oddjob-mkhomedir-*.rpm), then run pulumi again\n",
        );
    });
});
