import { describe, expect, it } from "vitest";
import { plannedStdin, planHostSteps, reviewedSteps, sharedKeyHash, stepEnv, stdinValue, stepStdin } from "../../host/plan";

const h = (c: string) => c.repeat(64);

describe("sharedKeyHash", () => {
    it("returns the hash all nodes share", () => {
        const nodes = ["a", "b", "c"].map((name) => ({ name, preflight: `os-family=debian\nsecure-cookie-key-sha256=${h("1")}\n` }));
        expect(sharedKeyHash(nodes)).toBe(h("1"));
    });

    it("names the odd node of three", () => {
        const nodes = [
            { name: "node1 (10.0.0.5:22)", preflight: `secure-cookie-key-sha256=${h("1")}` },
            { name: "node2 (10.0.0.6:22)", preflight: `secure-cookie-key-sha256=${h("2")}` },
            { name: "node3 (10.0.0.7:22)", preflight: `secure-cookie-key-sha256=${h("1")}` },
        ];
        expect(() => sharedKeyHash(nodes)).toThrow(/node2 \(10\.0\.0\.6:22\) has a different key than node1 \(10\.0\.0\.5:22\), node3 \(10\.0\.0\.7:22\)/);
    });

    it("takes the first node as reference when there is no majority", () => {
        expect(() =>
            sharedKeyHash([
                { name: "n1", preflight: `secure-cookie-key-sha256=${h("1")}` },
                { name: "n2", preflight: `secure-cookie-key-sha256=${h("2")}` },
            ]),
        ).toThrow(/^the Workbench nodes do not share one secure-cookie-key: n2 has a different key than n1/);
    });

    it("never includes a hash in the message (nor, of course, a key)", () => {
        expect(() =>
            sharedKeyHash([
                { name: "n1", preflight: `secure-cookie-key-sha256=${h("1")}` },
                { name: "n2", preflight: `secure-cookie-key-sha256=${h("2")}` },
            ]),
        ).not.toThrow(/1111/);
    });

    it("refuses a preflight without a hash", () => {
        expect(() => sharedKeyHash([{ name: "n1", preflight: "os-family=debian" }])).toThrow(/n1: the preflight reported no secure-cookie-key hash/);
    });
});

describe("planHostSteps", () => {
    it("lists each step after the steps it needs", () => {
        for (const nodes of [1, 2, 3]) {
            const plan = planHostSteps(nodes, true);
            const seen = new Set<string>();
            for (const step of plan) {
                for (const dep of step.after) expect(seen.has(`${dep.node}/${dep.id}`), `${step.node}/${step.id} after ${dep.node}/${dep.id}`).toBe(true);
                seen.add(`${step.node}/${step.id}`);
            }
            expect(plan.filter((s) => s.id === "restart")).toHaveLength(nodes);
        }
    });

    it("has no SCIM token step for JIT", () => {
        expect(planHostSteps(2, false).some((s) => s.id === "scim-token")).toBe(false);
    });
});

describe("stepEnv", () => {
    const values = { clientId: "c", stack: "prod", settings: { "auth-openid": "1" }, scimTokenDays: 7 };

    it("makes every step that writes check the key hash on its stdin, beside its node's preflight id, and gives only the stack and owner to preflight (with the provisioning, for its version floor) and restart", () => {
        for (const id of ["encrypt-client-secret", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "scim-token"] as const) {
            expect(stepEnv(id, values, "prod/10.0.0.5:22").WB_KEY_CHECK, id).toBe("stdin");
            expect(stepEnv(id, values, "prod/10.0.0.5:22").WB_STACK, id).toBe("prod");
            expect(stepStdin(id, h("9"), "workbench-10-0-0-5-22-preflight-1a2b3c4d", "rest\n"), id).toBe(
                `secure-cookie-key-sha256=${h("9")} preflight=workbench-10-0-0-5-22-preflight-1a2b3c4d\nrest\n`,
            );
        }
        expect(stepStdin("restart", h("9"), "p", "digest\n")).toBe("digest\n");
    });

    it("frames each kind of input as the scripts read it, the same for the component, the check and the host tests", () => {
        const key = `secure-cookie-key-sha256=${h("9")} preflight=p\n`;
        const stepOf = (id: string) => planHostSteps(1, true).find((s) => s.id === id)!;
        // The secrets on a line of their own after the key line; the restart's digest as it is (a changed framing
        // would change every stack's stdin, and so run the steps again on every host).
        expect(plannedStdin(stepOf("encrypt-client-secret"), h("9"), "p", "s3cret")).toBe(`${key}s3cret\n`);
        expect(plannedStdin(stepOf("client-secret"), h("9"), "p", "ENC")).toBe(`${key}ENC\n`);
        expect(plannedStdin(stepOf("restart"), h("9"), "p", "abc123")).toBe("abc123");
        expect(plannedStdin(stepOf("rserver-conf"), h("9"), "p")).toBe(key);
        expect(plannedStdin(stepOf("preflight"), h("9"), "p")).toBeUndefined();
        for (const [id, value] of [
            ["encrypt-client-secret", "s3cret"],
            ["client-secret", "ENC"],
            ["restart", "abc123"],
        ] as const) {
            expect(stdinValue(stepOf(id), plannedStdin(stepOf(id), h("9"), "p", value)!), id).toBe(value);
        }
        expect(stepEnv("preflight", values, "prod/10.0.0.5:22")).toEqual({
            WB_STACK: "prod",
            WB_OWNER: "prod/10.0.0.5:22",
            WB_PROVISIONING: "scim",
            WB_UNDO_ORDER: "scim-token restart nscd nss home-directories rserver-conf client-secret encrypt-client-secret",
        });
        expect(stepEnv("preflight", { ...values, scimTokenDays: undefined }, "").WB_PROVISIONING).toBe("jit");
        // JIT groups raise the floor to 2025.09.0 (host/lib.sh); with SCIM the job provisions the groups.
        expect(stepEnv("preflight", { ...values, scimTokenDays: undefined, jitGroups: true }, "").WB_PROVISIONING).toBe("jit-groups");
        expect(stepEnv("restart", values, "prod/10.0.0.5:22")).toEqual({ WB_STACK: "prod", WB_OWNER: "prod/10.0.0.5:22" });
    });

    it("gives every per-node step its node's owner, and none to the steps that run once", () => {
        for (const id of ["preflight", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "restart"] as const) {
            expect(stepEnv(id, values, "prod/10.0.0.5:22").WB_OWNER, id).toBe("prod/10.0.0.5:22");
        }
        expect(stepEnv("encrypt-client-secret", values, "x").WB_OWNER).toBeUndefined();
        expect(stepEnv("scim-token", values, "x").WB_OWNER).toBeUndefined();
    });

    it("names the SCIM token after the stack", () => {
        expect(stepEnv("scim-token", values, "prod/10.0.0.5:22")).toEqual({
            WB_STACK: "prod",
            WB_KEY_CHECK: "stdin",
            WB_TOKEN_NAME: "Entra ID User Provisioning Token (pulumi prod)",
            WB_TOKEN_DAYS: "7",
            WB_TOKEN_ROTATION: "",
            WB_TOKEN_WARN_DAYS: "3",
        });
        expect(stepEnv("scim-token", { ...values, scimTokenRotation: "2026-12-01T00:00:00Z" }, "").WB_TOKEN_ROTATION).toBe("2026-12-01T00:00:00Z");
        // The check warns from when a managed app's stack would rotate the token: 30 days before, or half a short lifetime.
        expect(stepEnv("scim-token", { ...values, scimTokenDays: 365 }, "").WB_TOKEN_WARN_DAYS).toBe("30");
        expect(stepEnv("scim-token", { ...values, scimTokenDays: 60 }, "").WB_TOKEN_WARN_DAYS).toBe("30");
    });
});

describe("reviewedSteps", () => {
    const values = { clientId: "c1", stack: "prod", settings: { "auth-openid": "1", "auth-openid-username-claim": "email" }, scimTokenDays: 7 };

    it("lists every step with its script's own description and the values its command carries, rserver.conf one line an entry", () => {
        const steps = reviewedSteps(values, true);
        expect(Object.keys(steps).sort()).toEqual([
            "client-secret",
            "encrypt-client-secret",
            "home-directories",
            "nscd",
            "nss",
            "preflight",
            "restart",
            "rserver-conf",
            "scim-token",
        ]);
        expect(steps["rserver-conf"].values.WB_SETTINGS).toEqual(["auth-openid=1", "auth-openid-username-claim=email"]);
        expect(steps["client-secret"].values).toEqual({ WB_CLIENT_ID: "c1" });
        expect(steps.nscd.does).toEqual(["Turns off NSCD's passwd and group caches, which would hide users Workbench provisions."]);
        expect(steps["scim-token"].does.at(-1)).toBe("  WB_TOKEN_WARN_DAYS check warns this many days before it expires (when the stack would rotate it)");
        // What only the program uses internally is not listed.
        for (const step of Object.values(steps)) expect(Object.keys(step.values).filter((k) => /WB_(STEP|OWNER|KEY_CHECK|MANAGED_KEYS)/.test(k))).toEqual([]);
    });

    it("has no SCIM token step for JIT", () => {
        expect(reviewedSteps(values, false)["scim-token"]).toBeUndefined();
    });
});
