/**
 * Every host step against a sandbox Debian Workbench host over real SSH (RHEL-family hosts, with the
 * real authselect: rhel.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workbenchDecrypt } from "../sandbox/rskey";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { scimTokenName } from "../../host/plan";
import {
    applyAll,
    CLIENT_ID,
    CLIENT_SECRET,
    countSequence,
    fingerprints,
    hostValues,
    MANAGED_FILES,
    removeAll,
    RESTART_SEQUENCE,
    resultOf,
    Run,
    StepError,
    systemctlCalls,
    TENANT_ID,
} from "./driver";

/** Figures for the README: wall time and SSH commands of a fresh and a no-change run. */
const measured: Record<string, Run> = {};
afterAll(() => {
    for (const [what, run] of Object.entries(measured)) console.log(`host steps, ${what} run: ${run.sshCommands} SSH commands, ${run.milliseconds} ms`);
});

const healthCheck = async (sb: Sandbox) => {
    const response = await fetch(`http://127.0.0.1:${sb.workbenchPort}/health-check`).catch(() => undefined);
    return response?.status;
};

const activeLines = (text: string) => text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));

describe("a fresh Debian host", () => {
    let sb: Sandbox;
    let before: Record<string, string>;
    let originalConf: string;
    let first: Run;

    beforeAll(async () => {
        sb = await startSandbox();
        before = await fingerprints(sb, MANAGED_FILES);
        originalConf = await sb.readFile("/etc/rstudio/rserver.conf");
        await sb.exec(": > /var/log/standin/systemctl.log");
        first = await applyAll(sb, hostValues());
        measured.fresh = first;
    });
    afterAll(() => sb?.stop());

    it("writes the client id and the encrypted client secret, 0600 rstudio-server", async () => {
        const [idLine, secretLine, ...rest] = (await sb.readFile("/etc/rstudio/openid-client-secret")).split("\n");
        expect(idLine).toBe(`client-id=${CLIENT_ID}`);
        expect(rest.filter(Boolean)).toEqual([]);
        const encrypted = secretLine.replace(/^client-secret=/, "");
        expect(encrypted).not.toContain(CLIENT_SECRET);
        const key = await sb.readFile("/var/lib/rstudio-server/secure-cookie-key");
        expect(await workbenchDecrypt(encrypted, key)).toBe(CLIENT_SECRET);
        expect((await sb.exec("stat -c '%a %U:%G' /etc/rstudio/openid-client-secret")).stdout.trim()).toBe("600 rstudio-server:rstudio-server");
    });

    it("writes each managed key once into rserver.conf and keeps every other line", async () => {
        const conf = await sb.readFile("/etc/rstudio/rserver.conf");
        for (const line of activeLines(originalConf)) expect(conf).toContain(line);
        expect(conf).toContain(`auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`);
        for (const key of [
            "auth-openid",
            "auth-openid-issuer",
            "auth-openid-username-claim",
            "user-provisioning-enabled",
            "user-provisioning-register-on-first-login",
            "auth-pam-sessions-enabled",
            "server-health-check-enabled",
        ]) {
            expect(
                activeLines(conf).filter((l) => l.startsWith(`${key}=`)),
                key,
            ).toHaveLength(1);
        }
        expect(conf).not.toMatch(/^user-provisioning-start-uid=/m);
    });

    it("adds the mkhomedir line to common-session once", async () => {
        const session = await sb.readFile("/etc/pam.d/common-session");
        expect(session.split("\n").filter((l) => l.includes("pam_mkhomedir.so"))).toEqual(["session required pam_mkhomedir.so skel=/etc/skel/ umask=0077"]);
    });

    it("puts pwb on the passwd, group and shadow lines of nsswitch.conf", async () => {
        const nss = await sb.readFile("/etc/nsswitch.conf");
        for (const db of ["passwd", "group", "shadow"]) {
            expect(
                nss
                    .split("\n")
                    .find((l) => l.startsWith(`${db}:`))
                    ?.split(/\s+/),
            ).toContain("pwb");
        }
    });

    it("turns off nscd's passwd and group caches and restarts the running nscd", async () => {
        const conf = await sb.readFile("/etc/nscd.conf");
        expect(conf).toMatch(/^\s*enable-cache\s+passwd\s+no\s*$/m);
        expect(conf).toMatch(/^\s*enable-cache\s+group\s+no\s*$/m);
        expect(conf).not.toMatch(/^\s*enable-cache\s+(passwd|group)\s+yes/m);
        expect(await systemctlCalls(sb)).toContain("restart nscd");
    });

    it("restarts Workbench once, in the guide's order, and it answers its health check", async () => {
        const calls = await systemctlCalls(sb);
        expect(countSequence(calls, RESTART_SEQUENCE)).toBe(1);
        expect(calls.filter((c) => /^(stop|start|restart) rstudio-server$/.test(c))).toEqual(["stop rstudio-server", "start rstudio-server"]);
        expect(resultOf(first, "restart")?.stdout).toMatch(/restart=done[\s\S]*health=ok/);
        expect(await healthCheck(sb)).toBe(200);
    });

    it("changes nothing and does not restart on a second run", async () => {
        const afterFirst = await fingerprints(sb, MANAGED_FILES);
        await sb.exec(": > /var/log/standin/systemctl.log");
        const second = await applyAll(sb, hostValues());
        measured.noChange = second;
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(afterFirst);
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(0);
        expect(await systemctlCalls(sb)).not.toContain("restart nscd");
        expect(resultOf(second, "restart")?.stdout).toMatch(/restart=skipped/);
        for (const [step, result] of second.results) {
            if (/^\d+\/(client-secret|rserver-conf|home-directories|nss|nscd)$/.test(step)) expect(result.stdout, step).toMatch(/=unchanged|=not-installed/);
        }
    });

    it("restores every file byte for byte on destroy", async () => {
        await sb.exec(": > /var/log/standin/systemctl.log");
        await removeAll(sb, hostValues());
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(1);
        // The restored rserver.conf has no server-health-check-enabled: the server runs, the check is off again.
        expect((await sb.exec("systemctl is-active rstudio-server")).stdout.trim()).toBe("active");
        // Nothing of the program's is left: no record, no saved step, no owner.
        expect((await sb.exec("ls -A /var/lib/posit-workbench-entra 2>&1")).stdout).toMatch(/No such file or directory/);
    });
});

describe("a host configured by hand before", () => {
    let sb: Sandbox;
    let before: Record<string, string>;
    const rserverConf = [
        "# Server Configuration File",
        "www-port=PORT",
        "ssl-enabled=0",
        "ssl-certificate=/etc/ssl/certs/workbench.pem",
        "ssl-certificate-key=/etc/ssl/private/workbench.key",
        "launcher-sessions-enabled=1",
        "launcher-address=localhost",
        "launcher-port=5559",
        "launcher-default-cluster=Local",
        "auth-openid=1",
        "auth-openid-issuer=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        "",
    ];

    beforeAll(async () => {
        sb = await startSandbox({ nscd: false });
        await sb.writeFile("/etc/rstudio/rserver.conf", rserverConf.join("\n").replace("PORT", String(sb.workbenchPort)));
        await sb.exec(String.raw`sed -i -E 's/^(passwd|group|shadow):(.*)$/\1:\2 sss/' /etc/nsswitch.conf`);
        await sb.exec(`printf '%s\n' 'session optional pam_mkhomedir.so skel=/etc/skel umask=0022' >> /etc/pam.d/common-session`);
        await sb.writeFile("/etc/rstudio/openid-client-secret", 'client-id="hand-written"\nclient-secret="old"\n');
        await sb.exec("chown rstudio-server:rstudio-server /etc/rstudio/openid-client-secret && chmod 0644 /etc/rstudio/openid-client-secret");
        before = await fingerprints(sb, MANAGED_FILES);
        await applyAll(sb, hostValues({ provisioning: "scim", startUid: 10000 }));
    });
    afterAll(() => sb?.stop());

    it("replaces the old issuer and keeps launcher, ssl and www-port lines", async () => {
        const conf = await sb.readFile("/etc/rstudio/rserver.conf");
        for (const line of rserverConf.slice(1, 9)) expect(conf).toContain(line.replace("PORT", String(sb.workbenchPort)));
        expect(conf).not.toContain("00000000-0000-0000-0000-000000000000");
        expect(activeLines(conf).filter((l) => l.startsWith("auth-openid="))).toHaveLength(1);
        expect(conf).toContain("user-provisioning-start-uid=10000");
        expect(conf).not.toContain("user-provisioning-register-on-first-login");
    });

    it("puts pwb before sss", async () => {
        const nss = await sb.readFile("/etc/nsswitch.conf");
        for (const db of ["passwd", "group", "shadow"]) {
            const words = nss
                .split("\n")
                .find((l) => l.startsWith(`${db}:`))!
                .split(/\s+/);
            expect(words.indexOf("pwb"), db).toBeGreaterThan(0);
            expect(words.indexOf("pwb"), db).toBeLessThan(words.indexOf("sss"));
        }
    });

    it("keeps the existing mkhomedir line instead of adding a second one", async () => {
        const session = await sb.readFile("/etc/pam.d/common-session");
        expect(session.split("\n").filter((l) => l.includes("pam_mkhomedir.so"))).toEqual(["session optional pam_mkhomedir.so skel=/etc/skel umask=0022"]);
    });

    it("replaces the hand-written secret file with an encrypted one, 0600", async () => {
        const file = await sb.readFile("/etc/rstudio/openid-client-secret");
        expect(file).toMatch(new RegExp(`^client-id=${CLIENT_ID}\nclient-secret=[0-9A-F]{8}`));
        expect((await sb.exec("stat -c '%a' /etc/rstudio/openid-client-secret")).stdout.trim()).toBe("600");
    });

    it("generates a SCIM token and, on destroy, revokes it and restores every file, the hand-written secret too", async () => {
        const name = scimTokenName("hosttest");
        expect((await sb.exec("rstudio-server user-service list-tokens")).stdout).toContain(name);
        await removeAll(sb, hostValues({ provisioning: "scim", startUid: 10000 }));
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
        expect((await sb.exec("rstudio-server user-service list-tokens")).stdout).not.toContain(name);
    });
});

describe("groups, admin groups, OpenID scopes and extra settings in rserver.conf", () => {
    const rserver = {
        groupStartGid: 20000,
        adminGroups: ["workbench-admins", "ops"],
        adminSuperuserGroups: ["workbench-superusers"],
        openidScopes: ["openid", "profile", "email", "offline_access"],
        extraSettings: { "auth-timeout-minutes": "60", "www-frame-origin": "none" },
    };
    /** The managed block: the lines after its header. */
    const block = (conf: string) =>
        conf
            .split("\n")
            .slice(conf.split("\n").findIndex((l) => l.startsWith("# Managed by posit-workbench-entra ")) + 1)
            .filter(Boolean);
    let sb: Sandbox;
    let before: Record<string, string>;
    let first: Run;

    beforeAll(async () => {
        sb = await startSandbox();
        // The administrator set one of the options by hand before: the stack's value replaces it, destroy brings it back.
        await sb.exec("printf 'auth-timeout-minutes=30\\n' >> /etc/rstudio/rserver.conf");
        before = await fingerprints(sb, MANAGED_FILES);
        first = await applyAll(sb, hostValues({ provisioning: "scim", rserver }));
    });
    afterAll(() => sb?.stop());

    it("writes them in the managed block, each once, and test-config accepts them", async () => {
        const conf = await sb.readFile("/etc/rstudio/rserver.conf");
        expect(block(conf)).toEqual([
            "auth-openid=1",
            `auth-openid-issuer=https://login.microsoftonline.com/${TENANT_ID}/v2.0`,
            "auth-openid-username-claim=preferred_username",
            "auth-openid-scopes=openid profile email offline_access",
            "user-provisioning-enabled=1",
            "auth-pam-sessions-enabled=1",
            "group-provisioning-start-gid=20000",
            "server-health-check-enabled=1",
            "admin-enabled=1",
            "admin-group=workbench-admins,ops",
            "admin-superuser-group=workbench-superusers",
            "auth-timeout-minutes=60",
            "www-frame-origin=none",
        ]);
        expect(activeLines(conf).filter((l) => l.startsWith("auth-timeout-minutes="))).toEqual(["auth-timeout-minutes=60"]);
        expect(resultOf(first, "rserver-conf")?.stdout).toContain("rserver.conf=changed");
        expect((await sb.exec("rstudio-server test-config")).code).toBe(0);
        expect(await healthCheck(sb)).toBe(200);
    });

    it("removes a setting dropped from the config, and only that one", async () => {
        const { "www-frame-origin": _dropped, ...kept } = rserver.extraSettings;
        const run = await applyAll(sb, hostValues({ provisioning: "scim", rserver: { ...rserver, extraSettings: kept } }));
        expect(resultOf(run, "rserver-conf")?.stdout).toContain("rserver.conf=changed");
        const conf = await sb.readFile("/etc/rstudio/rserver.conf");
        expect(conf).not.toMatch(/^www-frame-origin=/m);
        expect(block(conf)).toContain("auth-timeout-minutes=60");
        expect((await sb.exec("rstudio-server test-config")).code).toBe(0);
    });

    it("restores the file byte for byte on destroy, the administrator's own value too, and leaves no record", async () => {
        const { "www-frame-origin": _dropped, ...kept } = rserver.extraSettings;
        await removeAll(sb, hostValues({ provisioning: "scim", rserver: { ...rserver, extraSettings: kept } }));
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
        expect((await sb.exec("test -e /var/lib/posit-workbench-entra/files && ls -A /var/lib/posit-workbench-entra/files || true")).stdout.trim()).toBe("");
    });
});

describe("a change Workbench refuses", () => {
    let sb: Sandbox;

    beforeAll(async () => {
        sb = await startSandbox();
        await applyAll(sb, hostValues());
    });
    afterAll(() => sb?.stop());

    it("keeps the previous configuration and the running server, and names the reason", async () => {
        // A Workbench release that does not know user-provisioning-start-uid rejects it in test-config.
        await sb.exec("sed -i '/^user-provisioning-start-uid /d' /usr/lib/standin/rserver-options.txt");
        const previous = await sb.readFile("/etc/rstudio/rserver.conf");
        await sb.exec(": > /var/log/standin/systemctl.log");
        const attempt = applyAll(sb, hostValues({ startUid: 20000 }));
        await expect(attempt).rejects.toThrow(StepError);
        const error = (await attempt.catch((e) => e)) as StepError;
        expect(error.step).toBe("rserver-conf");
        expect(error.result.stderr).toMatch(/test-config rejected the new rserver.conf, the previous file is back in place: .*user-provisioning-start-uid/s);
        expect(await sb.readFile("/etc/rstudio/rserver.conf")).toBe(previous);
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(0);
        expect(await healthCheck(sb)).toBe(200);
    });

    it("converges once the value is fixed", async () => {
        await applyAll(sb, hostValues());
        expect((await sb.exec("rstudio-server test-config")).code).toBe(0);
    });
});

describe("a file an administrator edits while the stack manages it", () => {
    let sb: Sandbox;
    let original: string;

    beforeAll(async () => {
        sb = await startSandbox();
        original = await sb.readFile("/etc/rstudio/rserver.conf");
        await applyAll(sb, hostValues());
        // The administrator adds a line after the managed block, then the stack changes a setting.
        await sb.exec("echo 'auth-timeout-minutes=30' >> /etc/rstudio/rserver.conf");
        await applyAll(sb, hostValues({ startUid: 20000 }));
        await removeAll(sb, hostValues({ startUid: 20000 }));
    });
    afterAll(() => sb?.stop());

    it("keeps the administrator's line on destroy and removes only the managed keys", async () => {
        const conf = await sb.readFile("/etc/rstudio/rserver.conf");
        expect(conf).toContain("auth-timeout-minutes=30");
        expect(conf).not.toMatch(/^(auth-openid|user-provisioning-[a-z-]+|auth-pam-sessions-enabled|server-health-check-enabled)=/m);
        for (const line of activeLines(original)) expect(conf).toContain(line);
    });
});

describe("a host the stack reaches at a new address (its IP, then its DNS name)", () => {
    let sb: Sandbox;
    let before: Record<string, string>;
    let configured: Record<string, string>;

    beforeAll(async () => {
        sb = await startSandbox();
        before = await fingerprints(sb, MANAGED_FILES);
        await applyAll(sb, hostValues());
        configured = await fingerprints(sb, MANAGED_FILES);
        // pulumi up: the steps named after the new address configure the host (nothing to change),
        // then the steps named after the old address are deleted.
        await applyAll(sb, hostValues({ addressedAs: "localhost" }));
    });
    afterAll(() => sb?.stop());

    it("keeps the host configured when the old address's steps are deleted", async () => {
        const removed = await removeAll(sb, hostValues());
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(configured);
        expect(resultOf(removed, "rserver-conf")?.stdout).toContain("rserver-conf=other-owner");
    });

    it("restores the host when the new address's steps are deleted", async () => {
        await removeAll(sb, hostValues({ addressedAs: "localhost" }));
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
    });
});

describe("a first run Workbench refuses", () => {
    let sb: Sandbox;
    let before: Record<string, string>;

    beforeAll(async () => {
        sb = await startSandbox();
        await sb.exec("sed -i '/^user-provisioning-start-uid /d' /usr/lib/standin/rserver-options.txt");
        before = await fingerprints(sb, ["/etc/rstudio/rserver.conf"]);
        await expect(applyAll(sb, hostValues({ startUid: 20000 }))).rejects.toThrow(/test-config rejected/);
    });
    afterAll(() => sb?.stop());

    it("keeps no record of the rolled-back file, so a later destroy cannot bring back a stale copy", async () => {
        expect((await sb.exec("ls /var/lib/posit-workbench-entra/files/ | grep rserver.conf || true")).stdout.trim()).toBe("");
        await applyAll(sb, hostValues());
        await sb.exec("echo 'auth-timeout-minutes=30' >> /etc/rstudio/rserver.conf");
        await removeAll(sb, hostValues());
        expect(await sb.readFile("/etc/rstudio/rserver.conf")).toContain("auth-timeout-minutes=30");
        expect(before["/etc/rstudio/rserver.conf"]).not.toBe("absent");
    });
});

describe("secrets on the host", () => {
    let sb: Sandbox;
    let token: string;

    beforeAll(async () => {
        sb = await startSandbox();
        const run = await applyAll(sb, hostValues({ provisioning: "scim" }));
        token = resultOf(run, "scim-token")!.stdout.trim();
        await removeAll(sb, hostValues({ provisioning: "scim" }));
    });
    afterAll(() => sb?.stop());

    it("received a token", () => {
        expect(token.length).toBeGreaterThanOrEqual(16);
    });

    it("never shows the client secret or the token in a command line", async () => {
        const cmdlines = await sb.readFile("/var/log/standin/cmdlines.log");
        const sudo = await sb.readFile("/var/log/sudo.log");
        expect(cmdlines).toContain("encrypt-password"); // the audit saw the calls
        expect(sudo).toContain("bash -c");
        for (const secret of [CLIENT_SECRET, token]) {
            expect(cmdlines).not.toContain(secret);
            expect(sudo).not.toContain(secret);
        }
    });

    it("writes neither the client secret nor the token in clear to any file", async () => {
        for (const secret of [CLIENT_SECRET, token]) {
            const r = await sb.exec(`grep -rlF -e "$(cat)" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null || true`, secret);
            expect(r.stdout.trim(), secret === token ? "token" : "client secret").toBe("");
        }
    });
});

describe("the sudo requirements", () => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox();
    });
    afterAll(() => sb?.stop());

    it("fails the preflight when sudo would log the secrets sent on stdin", async () => {
        await sb.exec("echo 'Defaults log_input, log_output' > /etc/sudoers.d/zz-io-log && chmod 0440 /etc/sudoers.d/zz-io-log");
        const attempt = await applyAll(sb, hostValues()).catch((e) => e as StepError);
        expect((attempt as StepError).step).toBe("preflight");
        expect((attempt as StepError).result.stderr).toMatch(/sudo records the I\/O .* secrets sent on stdin would be logged/);
        await sb.exec("rm -f /etc/sudoers.d/zz-io-log");
    });

    it("fails the preflight with a plain message when sudo needs a password", async () => {
        await sb.exec("rm -f /etc/sudoers.d/*");
        const attempt = await applyAll(sb, hostValues()).catch((e) => e as StepError);
        expect(attempt).toBeInstanceOf(StepError);
        expect((attempt as StepError).step).toBe("preflight");
        expect((attempt as StepError).result.stderr).toContain("the SSH user needs passwordless sudo");
    });
});
