import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hostCommand, shellQuote } from "../../host/commands";
import { issuerFor, MANAGED_RSERVER_KEYS, renderSettings, rserverSettings } from "../../host/settings";

describe("shellQuote", () => {
    it("round-trips awkward values through a real shell", () => {
        for (const value of ["plain", "it's", "a b\nc", '$(touch /tmp/x) `id` "q" \\']) {
            expect(execFileSync("sh", ["-c", `printf '%s' ${shellQuote(value)}`]).toString()).toBe(value);
        }
    });
});

describe("hostCommand", () => {
    it("runs the step's script under sudo -n with its values in WB_ variables", () => {
        const cmd = hostCommand("rserver-conf", "apply", { WB_SETTINGS: "auth-openid=1" });
        expect(cmd).toMatch(/^sudo -n env WB_STEP='rserver-conf' WB_SETTINGS='auth-openid=1' bash -c '/);
        expect(cmd).toMatch(/' rserver-conf apply$/);
    });

    it("explains a missing passwordless sudo in the preflight only", () => {
        expect(hostCommand("preflight", "apply")).toMatch(/^sudo -n true 2>\/dev\/null \|\| \{ echo "preflight: the SSH user needs passwordless sudo/);
        expect(hostCommand("preflight", "remove")).toMatch(/^sudo -n env/);
    });

    it("refuses variable names that are not WB_ variables", () => {
        expect(() => hostCommand("nss", "apply", { PATH: "/tmp" })).toThrow(/WB_\[A-Z0-9_\]\+/);
    });

    it("produces scripts bash can parse, and the parse check catches a broken one", () => {
        const parses = (script: string) => {
            try {
                execFileSync("bash", ["-n"], { input: script, stdio: ["pipe", "ignore", "ignore"] });
                return true;
            } catch {
                return false;
            }
        };
        for (const step of [
            "preflight",
            "encrypt-client-secret",
            "client-secret",
            "rserver-conf",
            "home-directories",
            "nss",
            "nscd",
            "restart",
            "scim-token",
        ] as const) {
            const quoted = /bash -c ('(?:[^']|'\\'')*')/.exec(hostCommand(step, "apply"))![1];
            const script = execFileSync("sh", ["-c", `printf '%s' ${quoted}`]).toString();
            expect(script, step).toContain("wb_fail()");
            expect(parses(script), step).toBe(true);
        }
        expect(parses("if then fi (((")).toBe(false);
    });
});

describe("rserverSettings", () => {
    const tenant = "11111111-2222-3333-4444-555555555555";

    it("enables OpenID with the tenant's issuer and JIT registration", () => {
        expect(renderSettings(rserverSettings({ provisioning: "jit", usernameClaim: "preferred_username" }, tenant))).toBe(
            [
                "auth-openid=1",
                `auth-openid-issuer=https://login.microsoftonline.com/${tenant}/v2.0`,
                "auth-openid-username-claim=preferred_username",
                "user-provisioning-enabled=1",
                "user-provisioning-register-on-first-login=1",
                "auth-pam-sessions-enabled=1",
                "server-health-check-enabled=1",
            ].join("\n"),
        );
    });

    it("leaves out first-login registration for SCIM and adds the optional keys when set", () => {
        const s = rserverSettings({ provisioning: "scim", usernameClaim: "email", startUid: 5000, homeDirPath: "/mnt/home" }, tenant);
        expect(s["user-provisioning-register-on-first-login"]).toBeUndefined();
        expect(s).toMatchObject({ "auth-openid-username-claim": "email", "user-provisioning-start-uid": "5000", "user-homedir-path": "/mnt/home" });
    });

    it("only writes keys it manages, so switching modes removes what is no longer wanted", () => {
        const s = rserverSettings({ provisioning: "scim", usernameClaim: "email", startUid: 5000, homeDirPath: "/x" }, tenant);
        for (const key of Object.keys(s)) expect(MANAGED_RSERVER_KEYS).toContain(key);
        expect(issuerFor(tenant)).toBe(`https://login.microsoftonline.com/${tenant}/v2.0`);
    });
});
