import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, projectConfig, SecretFacts } from "../../config";
import { renderSettings, rserverSettings } from "../../host/settings";
import { baseConfig, HOST_KEY } from "./program";

/** An SSH wire-format string: uint32 length, then the bytes. */
const wireString = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
};
/** An SSH mpint from unsigned big-endian bytes: a 0x00 in front when the high bit is set. */
const mpint = (bytes: Buffer) => wireString(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
/** A well-formed ed25519 host key other than HOST_KEY (its 32 key bytes all `fill`). */
const ed25519Key = (fill: number) => `ssh-ed25519 ${Buffer.concat([wireString(Buffer.from("ssh-ed25519")), wireString(Buffer.alloc(32, fill))]).toString("base64")}`;
/** A real RSA public key of `bits` bits, as ssh-keyscan prints it. */
const rsaHostKey = (bits: number) => {
    const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
    const blob = Buffer.concat([wireString(Buffer.from("ssh-rsa")), mpint(Buffer.from(jwk.e!, "base64url")), mpint(Buffer.from(jwk.n!, "base64url"))]);
    return `ssh-rsa ${blob.toString("base64")}`;
};

const present: SecretFacts = { sshPrivateKey: true, clientSecret: false };
const parse = (overrides: Record<string, unknown>, secrets: SecretFacts = present) => {
    const { sshPrivateKey: _ignored, ...raw } = { ...baseConfig(), ...overrides };
    return parseConfig(raw, "prod", secrets);
};
/** The problems reported for a config; exactly one is expected per bad key. */
const problems = (overrides: Record<string, unknown>, secrets: SecretFacts = present): string[] => {
    try {
        parse(overrides, secrets);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error("config was accepted");
};

describe("parseConfig", () => {
    it("applies every default", () => {
        const c = parse({});
        expect(c).toMatchObject({
            provisioning: "jit",
            entraMode: "managed",
            appDisplayName: "Posit Workbench (prod)",
            groupsClaim: "ApplicationGroup",
            secretRotationDays: 180,
            secretGraceDays: 30,
            usernameClaim: "preferred_username",
            scimTokenDays: 365,
            scimTokenRotationDays: 335,
            scimJobTemplate: "scim",
            adminConsent: false,
            assignedGroupNames: [],
            allowUnpinnedHostKey: false,
            redirectUri: "https://workbench.example.com/openid/callback",
            scimBaseAddress: "https://workbench.example.com/scim/v2",
        });
        expect(c.hosts).toEqual([{ address: "10.0.0.5", port: 22, user: "azureuser", hostKey: HOST_KEY }]);
        expect(c.startUid).toBeUndefined();
        expect(c.homeDirPath).toBeUndefined();
    });

    const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
        ["missing hostname", { hostname: undefined }, "hostname", /required: the public DNS name/],
        ["hostname with a scheme", { hostname: "https://workbench.example.com" }, "hostname", /without a scheme/],
        ["hostname with a port", { hostname: "workbench.example.com:8787" }, "hostname", /without a port/],
        ["hostname with a path", { hostname: "workbench.example.com/rstudio" }, "hostname", /without a path/],
        ["unknown provisioning mode", { provisioning: "ldap" }, "provisioning", /expected "jit" or "scim"/],
        ["user object id not a UUID", { assignedUsers: ["alice@example.com"] }, "assignedUsers.0", /UUID/],
        ["group object id not a UUID", { assignedGroups: ["not-a-uuid"] }, "assignedGroups.0", /UUID/],
        ["start uid below 1000", { startUid: 999 }, "startUid", /at least 1000/],
        ["relative home directory path", { homeDirPath: "home/users" }, "homeDirPath", /absolute path/],
        ["rotation days out of range", { secretRotationDays: 1000 }, "secretRotationDays", /between 1 and 730/],
        ["rotation days zero", { secretRotationDays: 0 }, "secretRotationDays", /between 1 and 730/],
        ["a system directory as home path", { homeDirPath: "/etc/" }, "homeDirPath", /not a system directory/],
        ["a malformed sync template", { scimJobTemplate: "scim job" }, "scimJobTemplate", /synchronization template id/],
        ["a secret lifetime over two years", { secretRotationDays: 720, secretGraceDays: 30 }, "secretGraceDays", /at most 730 days/],
        ["the all-zero placeholder user", { assignedUsers: ["00000000-0000-0000-0000-000000000000"] }, "assignedUsers.0", /not the all-zero placeholder/],
        ["a user listed twice", { assignedUsers: ["0d5b1f4e-9a1c-4a57-8a59-6e1c3f1b2a10", "0D5B1F4E-9A1C-4A57-8A59-6E1C3F1B2A10"] }, "assignedUsers.1", /listed twice/],
        ["a placeholder host key", { host: { address: "10.0.0.5", user: "u", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICHANGEMECHANGEMECHANGEMECHANGEMECHANGEME00" } }, "host.hostKey", /authorized_keys format/],
        ["SSH port out of range", { host: { address: "10.0.0.5", port: 70000, user: "u", hostKey: HOST_KEY } }, "host.port", /between 1 and 65535/],
        ["SCIM with an IP address", { provisioning: "scim", hostname: "20.30.40.50" }, "hostname", /SCIM needs a DNS name/],
        ["host key missing", { host: { address: "10.0.0.5", user: "u" } }, "host.hostKey", /host public key to pin/],
        ["host key malformed", { host: { address: "10.0.0.5", user: "u", hostKey: "AAAAC3Nz" } }, "host.hostKey", /authorized_keys format/],
        ["a typo in a key", { hostnmae: "x" }, "hostnmae", /unknown key/],
        ["both host and hosts", { hosts: [{ address: "10.0.0.6", user: "u", hostKey: HOST_KEY }] }, "hosts", /either host .* or hosts/],
        ["neither host nor hosts", { host: undefined }, "host", /required: the Workbench server/],
        ["an empty host list", { host: undefined, hosts: [] }, "hosts", /at least one host/],
        ["a cluster node without host key", { host: undefined, hosts: [{ address: "10.0.0.5", user: "u", hostKey: HOST_KEY }, { address: "10.0.0.6", user: "u" }] }, "hosts.1.hostKey", /host public key to pin/],
        ["a node listed twice", { host: undefined, hosts: [{ address: "10.0.0.5", user: "u", hostKey: HOST_KEY }, { address: "10.0.0.5", port: 22, user: "v", hostKey: HOST_KEY }] }, "hosts.1.address", /listed twice/],
        ["an SSH address with a user in it", { host: { address: "root@wb 1", user: "u", hostKey: HOST_KEY } }, "host.address", /a DNS name or an IP address/],
        ["an IPv6 hostname", { hostname: "::1" }, "hostname", /IPv6/],
        ["a node listed twice in other letters", { host: undefined, hosts: [{ address: "WB1.example.com", user: "u", hostKey: HOST_KEY }, { address: "wb1.example.com", user: "u", hostKey: HOST_KEY }] }, "hosts.1.address", /listed twice/],
        ["a cluster node port out of range", { host: undefined, hosts: [{ address: "10.0.0.5", port: 0, user: "u", hostKey: HOST_KEY }] }, "hosts.0.port", /between 1 and 65535/],
        ["external mode without client id", { entraMode: "external", tenantId: "11111111-2222-3333-4444-555555555555", assignedUsers: [], assignedGroups: [] }, "clientId", /required when entraMode is "external"/],
    ];
    for (const [what, overrides, key, message] of bad) {
        it(`rejects ${what} with one message naming ${key}`, () => {
            const found = problems(overrides, what.startsWith("external") ? { sshPrivateKey: true, clientSecret: true } : present);
            const forKey = found.filter((p) => p.startsWith(`posit-workbench-entra:${key}:`));
            expect(forKey, found.join("\n")).toHaveLength(1);
            expect(forKey[0]).toMatch(message);
        });
    }

    // The exact line a user reads, for values that are something else than what the key takes.
    const NS = "posit-workbench-entra";
    const exact: Array<[string, Record<string, unknown>, string]> = [
        [
            "a group's display name in assignedGroups",
            { assignedGroups: ["0d5b1f4e-9a1c-4a57-8a59-6e1c3f1b2a10", "Workbench Users"] },
            `${NS}:assignedGroups.1: "Workbench Users" looks like a group's display name; assignedGroups takes object ids (UUIDs): put display names in assignedGroupNames`,
        ],
        [
            "a display name without spaces in assignedGroups",
            { assignedGroups: ["workbench_users"] },
            `${NS}:assignedGroups.0: "workbench_users" looks like a group's display name; assignedGroups takes object ids (UUIDs): put display names in assignedGroupNames`,
        ],
        [
            "a group object id cut short",
            { assignedGroups: ["0d5b1f4e-9a1c-4a57-8a59"] },
            `${NS}:assignedGroups.0: expected group object ids as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
        ],
        [
            "a group object id in braces",
            { assignedGroups: ["{0d5b1f4e-9a1c-4a57-8a59-6e1c3f1b2a10}"] },
            `${NS}:assignedGroups.0: expected group object ids as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
        ],
        [
            "a group's mail address in assignedGroups",
            { assignedGroups: ["workbench-users@example.com"] },
            `${NS}:assignedGroups.0: expected group object ids as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
        ],
        [
            "the all-zero placeholder group",
            { assignedGroups: ["00000000-0000-0000-0000-000000000000"] },
            `${NS}:assignedGroups.0: expected group object ids, not the all-zero placeholder`,
        ],
        [
            "a UPN in assignedUsers",
            { assignedUsers: ["alice@example.com"] },
            `${NS}:assignedUsers.0: "alice@example.com" looks like a user principal name or email address; assignedUsers takes user object ids (UUIDs): use the user's Object ID (az ad user show --id alice@example.com --query id -o tsv)`,
        ],
        [
            "a user's display name in assignedUsers",
            { assignedUsers: ["Alice Example"] },
            `${NS}:assignedUsers.0: expected user object ids as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
        ],
        [
            "a bracketed IPv6 hostname",
            { hostname: "[2001:db8::1]" },
            `${NS}:hostname: "[2001:db8::1]" is an IPv6 address, which cannot be used as the hostname: it goes into the redirect URI https://<hostname>/openid/callback, where Entra ID does not support IPv6 addresses (not even [::1]), and SCIM needs a DNS name (for its URL and the certificate's name). Use Workbench's DNS name, e.g. workbench.example.com`,
        ],
        [
            "a bare IPv6 hostname",
            { hostname: "2001:db8::1" },
            `${NS}:hostname: "2001:db8::1" is an IPv6 address, which cannot be used as the hostname: it goes into the redirect URI https://<hostname>/openid/callback, where Entra ID does not support IPv6 addresses (not even [::1]), and SCIM needs a DNS name (for its URL and the certificate's name). Use Workbench's DNS name, e.g. workbench.example.com`,
        ],
        [
            "a bracketed IPv6 hostname with a port",
            { hostname: "[2001:db8::1]:8787" },
            `${NS}:hostname: "[2001:db8::1]:8787" is an IPv6 address, which cannot be used as the hostname: it goes into the redirect URI https://<hostname>/openid/callback, where Entra ID does not support IPv6 addresses (not even [::1]), and SCIM needs a DNS name (for its URL and the certificate's name). Use Workbench's DNS name, e.g. workbench.example.com`,
        ],
        [
            "a bracketed IPv6 hostname with SCIM",
            { hostname: "[2001:db8::1]", provisioning: "scim" },
            `${NS}:hostname: "[2001:db8::1]" is an IPv6 address, which cannot be used as the hostname: it goes into the redirect URI https://<hostname>/openid/callback, where Entra ID does not support IPv6 addresses (not even [::1]), and SCIM needs a DNS name (for its URL and the certificate's name). Use Workbench's DNS name, e.g. workbench.example.com`,
        ],
        [
            "a bare IPv6 hostname with SCIM",
            { hostname: "2001:db8::1", provisioning: "scim" },
            `${NS}:hostname: "2001:db8::1" is an IPv6 address, which cannot be used as the hostname: it goes into the redirect URI https://<hostname>/openid/callback, where Entra ID does not support IPv6 addresses (not even [::1]), and SCIM needs a DNS name (for its URL and the certificate's name). Use Workbench's DNS name, e.g. workbench.example.com`,
        ],
        [
            "an IPv4 hostname with SCIM",
            { hostname: "20.30.40.50", provisioning: "scim" },
            `${NS}:hostname: "20.30.40.50" is an IP address: SCIM needs a DNS name. Entra ID connects to https://<hostname>/scim/v2 only with a publicly trusted certificate issued for that name; use Workbench's public DNS name (an IPv4 address works with provisioning "jit" only)`,
        ],
        [
            "an IPv4 hostname with a port",
            { hostname: "20.30.40.50:8787" },
            `${NS}:hostname: expected a bare host name without a port (got "20.30.40.50:8787"); put the port in front of Workbench, on the proxy or load balancer`,
        ],
    ];
    for (const [what, overrides, message] of exact) {
        it(`rejects ${what} with exactly one line`, () => {
            expect(problems(overrides)).toEqual([message]);
        });
    }

    it("accepts an IPv4 address as the hostname with JIT (Entra ID takes https://<IPv4>/ redirect URIs)", () => {
        const c = parse({ hostname: "20.30.40.50" });
        expect(c.redirectUri).toBe("https://20.30.40.50/openid/callback");
    });

    it("accepts group object ids in any case and display names in assignedGroupNames", () => {
        const c = parse({ assignedGroups: ["0D5B1F4E-9A1C-4A57-8A59-6E1C3F1B2A10"], assignedGroupNames: ["Workbench Users"] });
        expect(c.assignedGroups).toEqual(["0D5B1F4E-9A1C-4A57-8A59-6E1C3F1B2A10"]);
        expect(c.assignedGroupNames).toEqual(["Workbench Users"]);
    });

    it("rejects a missing SSH private key", () => {
        expect(problems({}, { sshPrivateKey: false, clientSecret: false })).toEqual([expect.stringMatching(/^posit-workbench-entra:sshPrivateKey: required/)]);
    });

    it("replaces short-lived SCIM tokens at half their life", () => {
        expect(parse({ scimTokenDays: 30 }).scimTokenRotationDays).toBe(15);
        expect(parse({ scimTokenDays: 90 }).scimTokenRotationDays).toBe(60);
    });

    it("takes a list of hosts for a cluster", () => {
        const nodes = [
            { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
            { address: "10.0.0.6", port: 2222, user: "u", hostKey: ed25519Key(2) },
        ];
        expect(parse({ host: undefined, hosts: nodes }).hosts).toEqual([{ ...nodes[0], port: 22 }, nodes[1]]);
    });

    it("accepts an unpinned host only when the stack opts out explicitly", () => {
        const c = parse({ host: { address: "10.0.0.5", user: "u" }, allowUnpinnedHostKey: true });
        expect(c.hosts[0].hostKey).toBeUndefined();
    });

    it("reports every bad key at once, one line each", () => {
        const found = problems({ hostname: "http://x", startUid: 5, provisioning: "both" });
        expect(found).toHaveLength(3);
        expect(found.map((p) => p.split(":")[1])).toEqual(expect.arrayContaining(["hostname", "startUid", "provisioning"]));
    });

    it("accepts external mode with tenant, client id and secret", () => {
        const c = parse(
            { entraMode: "external", tenantId: "11111111-2222-3333-4444-555555555555", clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", assignedUsers: [], assignedGroups: [] },
            { sshPrivateKey: true, clientSecret: true },
        );
        expect(c.entraMode).toBe("external");
    });

    it("refuses secrets stored in clear in the stack file", () => {
        expect(problems({}, { sshPrivateKey: true, clientSecret: false, storedInClear: ["sshPrivateKey"] })).toEqual([
            "posit-workbench-entra:sshPrivateKey: stored in clear in the stack file; set it with: pulumi config set --secret sshPrivateKey",
        ]);
    });

    it("refuses a client secret that looks like the secret's ID", () => {
        const external = { entraMode: "external", tenantId: "11111111-2222-3333-4444-555555555555", clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", assignedUsers: [], assignedGroups: [] };
        expect(problems(external, { sshPrivateKey: true, clientSecret: true, clientSecretLooksLikeId: true })).toEqual([expect.stringMatching(/^posit-workbench-entra:clientSecret: looks like the secret's ID/)]);
    });

    describe("one machine listed twice under two names (the same hostKey)", () => {
        it("refuses it, naming both entries by index and address:port", () => {
            const hosts = [
                { address: "127.0.0.1", user: "u", hostKey: HOST_KEY },
                { address: "localhost", user: "u", hostKey: HOST_KEY },
            ];
            expect(problems({ host: undefined, hosts })).toEqual([
                "posit-workbench-entra:hosts.1.hostKey: hosts.0 (127.0.0.1:22) and hosts.1 (localhost:22) have the same hostKey: one machine listed under two addresses (list it once), or clones sharing a host key (give each its own: remove /etc/ssh/ssh_host_* and run ssh-keygen -A on it, then ssh-keyscan again)",
            ]);
        });

        it("compares the key, not its comment, and names the first entry with it", () => {
            const hosts = [
                { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
                { address: "10.0.0.6", port: 2222, user: "u", hostKey: ed25519Key(2) },
                { address: "wb.example.com", port: 22, user: "u", hostKey: `${HOST_KEY} root@clone` },
            ];
            const found = problems({ host: undefined, hosts });
            expect(found).toHaveLength(1);
            expect(found[0]).toMatch(/^posit-workbench-entra:hosts\.2\.hostKey: hosts\.0 \(10\.0\.0\.5:22\) and hosts\.2 \(wb\.example\.com:22\) have the same hostKey/);
        });

        it("says only that an address is listed twice when it is (one line, not two)", () => {
            const hosts = [
                { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
                { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
            ];
            expect(problems({ host: undefined, hosts })).toEqual(["posit-workbench-entra:hosts.1.address: 10.0.0.5:22 is listed twice"]);
        });

        it("does not compare unpinned nodes", () => {
            const hosts = [
                { address: "10.0.0.5", user: "u" },
                { address: "10.0.0.6", user: "u" },
            ];
            expect(parse({ host: undefined, hosts, allowUnpinnedHostKey: true }).hosts).toHaveLength(2);
        });
    });

    describe("RSA host keys", () => {
        it("refuses one under 2048 bits, naming its size", () => {
            expect(problems({ host: { address: "10.0.0.5", user: "u", hostKey: rsaHostKey(1024) } })).toEqual([
                "posit-workbench-entra:host.hostKey: an RSA host key of 1024 bits; expected at least 2048 bits, or better the host's ed25519 key (ssh-keyscan -t ed25519 <host>)",
            ]);
        });

        it("refuses it on a cluster node too", () => {
            const hosts = [
                { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
                { address: "10.0.0.6", user: "u", hostKey: rsaHostKey(1536) },
            ];
            expect(problems({ host: undefined, hosts })).toEqual([expect.stringMatching(/^posit-workbench-entra:hosts\.1\.hostKey: an RSA host key of 1536 bits; expected at least 2048 bits/)]);
        });

        it("accepts 2048 bits and more", () => {
            for (const bits of [2048, 3072]) {
                const hostKey = rsaHostKey(bits);
                expect(parse({ host: { address: "10.0.0.5", user: "u", hostKey } }).hosts[0].hostKey).toBe(hostKey);
            }
        });

        it("refuses an RSA key whose blob has no modulus as malformed", () => {
            const blob = Buffer.concat([wireString(Buffer.from("ssh-rsa")), mpint(Buffer.from([1, 0, 1]))]).toString("base64");
            expect(problems({ host: { address: "10.0.0.5", user: "u", hostKey: `ssh-rsa ${blob}` } })).toEqual([expect.stringMatching(/^posit-workbench-entra:host\.hostKey: expected the host public key in authorized_keys format/)]);
        });
    });

    describe("homeDirPath with a trailing slash", () => {
        it("is written without it", () => {
            const c = parse({ homeDirPath: "/home/" });
            expect(c.homeDirPath).toBe("/home");
            expect(renderSettings(rserverSettings(c, "11111111-2222-3333-4444-555555555555"))).toContain("\nuser-homedir-path=/home\n");
            expect(parse({ homeDirPath: "/mnt/home//" }).homeDirPath).toBe("/mnt/home");
            expect(parse({ homeDirPath: "/mnt/home" }).homeDirPath).toBe("/mnt/home");
        });

        it("still refuses / itself", () => {
            expect(problems({ homeDirPath: "/" })).toEqual([expect.stringMatching(/^posit-workbench-entra:homeDirPath: expected a directory for home directories, not a system directory/)]);
        });
    });

    it("lower-cases the hostname, so the redirect URI and SCIM URL do not depend on how it was typed", () => {
        const typed = parse({ hostname: "Workbench.Example.COM", provisioning: "scim" });
        expect(typed).toMatchObject({
            hostname: "workbench.example.com",
            redirectUri: "https://workbench.example.com/openid/callback",
            scimBaseAddress: "https://workbench.example.com/scim/v2",
        });
        expect(typed).toEqual(parse({ hostname: "workbench.example.com", provisioning: "scim" }));
    });

    describe("startUid given as a string (pulumi config set stores top-level values as strings)", () => {
        it("is taken as the number", () => {
            expect(parse({ startUid: "2000" }).startUid).toBe(2000);
        });

        it("as every whole-number key is: days too", () => {
            const typed = parse({ provisioning: "scim", scimTokenDays: "90", secretRotationDays: "120", secretGraceDays: "10" });
            expect([typed.scimTokenDays, typed.secretRotationDays, typed.secretGraceDays]).toEqual([90, 120, 10]);
            expect(() => parse({ scimTokenDays: "ninety" })).toThrow(/scimTokenDays: expected a whole number of days between 1 and 3650/);
        });

        // loadConfig and npm run check pass the stack's values through projectConfig first.
        const rawWith = (value: unknown): Record<string, unknown> => {
            const { sshPrivateKey: _ignored, ...raw } = { ...baseConfig(), startUid: value } as Record<string, unknown>;
            return raw;
        };
        const throughStackFile = (value: unknown) => {
            const stored = Object.fromEntries(Object.entries(rawWith(value)).map(([k, v]) => [`posit-workbench-entra:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
            return projectConfig(stored);
        };
        const outcome = (raw: Record<string, unknown>) => {
            try {
                return parseConfig(raw, "prod", present).startUid;
            } catch (e) {
                return (e as ConfigError).problems;
            }
        };
        for (const value of ["2000", "999", "2e3", "1000.5", "two thousand", 2000]) {
            it(`gets the same answer from parseConfig as through projectConfig: ${JSON.stringify(value)}`, () => {
                expect(outcome(rawWith(value))).toEqual(outcome(throughStackFile(value)));
            });
        }
    });
});
