import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, projectConfig } from "../../config";
import { stepEnv } from "../../host/plan";
import { DOCUMENTED_RSERVER_OPTIONS, MANAGED_RSERVER_KEYS, managedRserverKeys, renderSettings, rserverSettings } from "../../host/settings";
import { baseConfig, HOST_KEY } from "./program";
import { ed25519Key, parse, problems, wireString, withSshKey as present } from "./config-fixtures";

/** An SSH mpint from unsigned big-endian bytes: a 0x00 in front when the high bit is set. */
const mpint = (bytes: Buffer) => wireString(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
/** A real RSA public key of `bits` bits, as ssh-keyscan prints it. */
const rsaHostKey = (bits: number) => {
    const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
    const blob = Buffer.concat([wireString(Buffer.from("ssh-rsa")), mpint(Buffer.from(jwk.e!, "base64url")), mpint(Buffer.from(jwk.n!, "base64url"))]);
    return `ssh-rsa ${blob.toString("base64")}`;
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
        [
            "a user listed twice",
            { assignedUsers: ["0d5b1f4e-9a1c-4a57-8a59-6e1c3f1b2a10", "0D5B1F4E-9A1C-4A57-8A59-6E1C3F1B2A10"] },
            "assignedUsers.1",
            /listed twice/,
        ],
        [
            "a placeholder host key",
            { host: { address: "10.0.0.5", user: "u", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICHANGEMECHANGEMECHANGEMECHANGEMECHANGEME00" } },
            "host.hostKey",
            /authorized_keys format/,
        ],
        ["SSH port out of range", { host: { address: "10.0.0.5", port: 70000, user: "u", hostKey: HOST_KEY } }, "host.port", /between 1 and 65535/],
        ["SCIM with an IP address", { provisioning: "scim", hostname: "20.30.40.50" }, "hostname", /SCIM needs a DNS name/],
        ["host key missing", { host: { address: "10.0.0.5", user: "u" } }, "host.hostKey", /host public key to pin/],
        ["host key malformed", { host: { address: "10.0.0.5", user: "u", hostKey: "AAAAC3Nz" } }, "host.hostKey", /authorized_keys format/],
        ["a typo in a key", { hostnmae: "x" }, "hostnmae", /unknown key/],
        ["both host and hosts", { hosts: [{ address: "10.0.0.6", user: "u", hostKey: HOST_KEY }] }, "hosts", /either host .* or hosts/],
        ["neither host nor hosts", { host: undefined }, "host", /required: the Workbench server/],
        ["an empty host list", { host: undefined, hosts: [] }, "hosts", /at least one host/],
        [
            "a cluster node without host key",
            {
                host: undefined,
                hosts: [
                    { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
                    { address: "10.0.0.6", user: "u" },
                ],
            },
            "hosts.1.hostKey",
            /host public key to pin/,
        ],
        [
            "a node listed twice",
            {
                host: undefined,
                hosts: [
                    { address: "10.0.0.5", user: "u", hostKey: HOST_KEY },
                    { address: "10.0.0.5", port: 22, user: "v", hostKey: HOST_KEY },
                ],
            },
            "hosts.1.address",
            /listed twice/,
        ],
        ["an SSH address with a user in it", { host: { address: "root@wb 1", user: "u", hostKey: HOST_KEY } }, "host.address", /a DNS name or an IP address/],
        ["an IPv6 hostname", { hostname: "::1" }, "hostname", /IPv6/],
        [
            "a node listed twice in other letters",
            {
                host: undefined,
                hosts: [
                    { address: "WB1.example.com", user: "u", hostKey: HOST_KEY },
                    { address: "wb1.example.com", user: "u", hostKey: HOST_KEY },
                ],
            },
            "hosts.1.address",
            /listed twice/,
        ],
        [
            "a cluster node port out of range",
            { host: undefined, hosts: [{ address: "10.0.0.5", port: 0, user: "u", hostKey: HOST_KEY }] },
            "hosts.0.port",
            /between 1 and 65535/,
        ],
        [
            "external mode without client id",
            { entraMode: "external", tenantId: "11111111-2222-3333-4444-555555555555", assignedUsers: [], assignedGroups: [] },
            "clientId",
            /required when entraMode is "external"/,
        ],
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
            {
                entraMode: "external",
                tenantId: "11111111-2222-3333-4444-555555555555",
                clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                assignedUsers: [],
                assignedGroups: [],
            },
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
        const external = {
            entraMode: "external",
            tenantId: "11111111-2222-3333-4444-555555555555",
            clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            assignedUsers: [],
            assignedGroups: [],
        };
        expect(problems(external, { sshPrivateKey: true, clientSecret: true, clientSecretLooksLikeId: true })).toEqual([
            expect.stringMatching(/^posit-workbench-entra:clientSecret: looks like the secret's ID/),
        ]);
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
            expect(found[0]).toMatch(
                /^posit-workbench-entra:hosts\.2\.hostKey: hosts\.0 \(10\.0\.0\.5:22\) and hosts\.2 \(wb\.example\.com:22\) have the same hostKey/,
            );
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
            expect(problems({ host: undefined, hosts })).toEqual([
                expect.stringMatching(/^posit-workbench-entra:hosts\.1\.hostKey: an RSA host key of 1536 bits; expected at least 2048 bits/),
            ]);
        });

        it("accepts 2048 bits and more", () => {
            for (const bits of [2048, 3072]) {
                const hostKey = rsaHostKey(bits);
                expect(parse({ host: { address: "10.0.0.5", user: "u", hostKey } }).hosts[0].hostKey).toBe(hostKey);
            }
        });

        it("refuses an RSA key whose blob has no modulus as malformed", () => {
            const blob = Buffer.concat([wireString(Buffer.from("ssh-rsa")), mpint(Buffer.from([1, 0, 1]))]).toString("base64");
            expect(problems({ host: { address: "10.0.0.5", user: "u", hostKey: `ssh-rsa ${blob}` } })).toEqual([
                expect.stringMatching(/^posit-workbench-entra:host\.hostKey: expected the host public key in authorized_keys format/),
            ]);
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
            expect(problems({ homeDirPath: "/" })).toEqual([
                expect.stringMatching(/^posit-workbench-entra:homeDirPath: expected a directory for home directories, not a system directory/),
            ]);
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
            const stored = Object.fromEntries(
                Object.entries(rawWith(value)).map(([k, v]) => [`posit-workbench-entra:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
            );
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

describe("groups, admin groups, OpenID scopes and extra settings", () => {
    const NS = "posit-workbench-entra";
    const tenant = "11111111-2222-3333-4444-555555555555";
    const lines = (overrides: Record<string, unknown>) => renderSettings(rserverSettings(parse(overrides), tenant)).split("\n");

    it("leaves every new option out unless set", () => {
        const c = parse({});
        expect(c).toMatchObject({ adminGroups: [], adminSuperuserGroups: [], extraSettings: {} });
        expect(c.groupStartGid).toBeUndefined();
        expect(c.openidScopes).toBeUndefined();
        expect(lines({}).filter((l) => /^(group-provisioning|admin-|auth-openid-scopes)/.test(l))).toEqual([]);
    });

    it("writes the group GID, the admin groups comma-separated, the scopes space-separated and the extra settings, last and by name", () => {
        expect(
            lines({
                provisioning: "scim",
                groupStartGid: "20000",
                adminGroups: ["workbench-admins", "ops"],
                adminSuperuserGroups: ["workbench-superusers"],
                openidScopes: ["openid", "profile", "email", "offline_access"],
                extraSettings: { "www-thread-pool-size": 4, "auth-timeout-minutes": 60, "auth-cookies-force-secure": true, "www-frame-origin": "none" },
            }),
        ).toEqual([
            "auth-openid=1",
            `auth-openid-issuer=https://login.microsoftonline.com/${tenant}/v2.0`,
            "auth-openid-username-claim=preferred_username",
            "auth-openid-scopes=openid profile email offline_access",
            "user-provisioning-enabled=1",
            "auth-pam-sessions-enabled=1",
            "group-provisioning-start-gid=20000",
            "server-health-check-enabled=1",
            "admin-enabled=1",
            "admin-group=workbench-admins,ops",
            "admin-superuser-group=workbench-superusers",
            "auth-cookies-force-secure=1",
            "auth-timeout-minutes=60",
            "www-frame-origin=none",
            "www-thread-pool-size=4",
        ]);
    });

    it("writes the group GID with JIT too (it applies to provisioned groups)", () => {
        expect(lines({ groupStartGid: 5000 })).toContain("group-provisioning-start-gid=5000");
    });

    it("manages the extra settings' keys besides its own, so they are removed wherever else they are", () => {
        const settings = rserverSettings(parse({ extraSettings: { "auth-timeout-minutes": 60 } }), tenant);
        expect(managedRserverKeys(settings)).toEqual([...MANAGED_RSERVER_KEYS, "auth-timeout-minutes"]);
        expect(stepEnv("rserver-conf", { clientId: "c", stack: "prod", settings }, "prod/h:22").WB_MANAGED_KEYS.split(" ")).toEqual([
            ...MANAGED_RSERVER_KEYS,
            "auth-timeout-minutes",
        ]);
    });

    it("reads the documented options from the list the stand-in reads, with their types", () => {
        expect(DOCUMENTED_RSERVER_OPTIONS.get("group-provisioning-start-gid")).toBe("int");
        expect(DOCUMENTED_RSERVER_OPTIONS.get("auth-openid-scopes")).toBe("str");
        expect(DOCUMENTED_RSERVER_OPTIONS.get("admin-enabled")).toBe("bool");
        // Every key the program writes is a documented option: an unknown one stops rserver.
        for (const key of MANAGED_RSERVER_KEYS) expect(DOCUMENTED_RSERVER_OPTIONS.has(key), key).toBe(true);
    });

    const refused: Array<[string, Record<string, unknown>, string]> = [
        [
            "a group GID below 1000",
            { groupStartGid: 999 },
            `${NS}:groupStartGid: expected a whole number of at least 1000 (Posit's minimum supported value for group-provisioning-start-gid)`,
        ],
        ["a group GID that is not a whole number", { groupStartGid: 1500.5 }, `${NS}:groupStartGid: expected a whole number of at least 1000`],
        [
            "an admin group name with a comma",
            { adminGroups: ["a,b"] },
            `${NS}:adminGroups.0: a group name cannot hold a comma: Workbench reads the option as a comma-delimited list of groups`,
        ],
        [
            "an admin group name with a line break",
            { adminGroups: ["admins\nauth-openid=0"] },
            `${NS}:adminGroups.0: a group name cannot hold a line break or another control character`,
        ],
        ["an admin group listed twice", { adminGroups: ["admins", "admins"] }, `${NS}:adminGroups.1: "admins" is listed twice`],
        [
            "superuser groups without admin groups",
            { adminSuperuserGroups: ["superusers"] },
            `${NS}:adminSuperuserGroups: needs adminGroups too: superusers use the administrative dashboard, which adminGroups turns on (admin-enabled) and limits to those groups (admin-group); list the superuser groups there as well if they should reach it`,
        ],
        [
            "JIT groups with SCIM provisioning",
            { provisioning: "scim", jitGroups: true },
            `${NS}:jitGroups: only with provisioning "jit": with "scim", the synchronization job provisions the groups assigned to the app (and their GIDs, from groupStartGid)`,
        ],
        [
            "JIT groups without a groups claim",
            { jitGroups: true, groupsClaim: "None" },
            `${NS}:jitGroups: needs the groups claim: Workbench creates the groups it finds in the ID token's groups claim, and groupsClaim "None" sends none (use "ApplicationGroup", the default)`,
        ],
        ["JIT groups given as a word", { jitGroups: "yes" }, `${NS}:jitGroups: expected true or false`],
        [
            "delegated permissions without offline_access",
            { delegatedPermissions: [{ resourceAppId: "e406a681-f3d4-42a8-90b6-c2b029497af1", scopes: ["user_impersonation"] }] },
            `${NS}:openidScopes: must include offline_access while delegatedPermissions is set (Posit's "Delegated Azure Credentials" page: Workbench requests the delegated credentials after sign-in only then), e.g. [openid, profile, email, offline_access]`,
        ],
        [
            "delegated permissions on Microsoft Graph",
            {
                openidScopes: ["openid", "profile", "offline_access"],
                delegatedPermissions: [{ resourceAppId: "00000003-0000-0000-c000-000000000000", scopes: ["Files.Read"] }],
            },
            `${NS}:delegatedPermissions.0.resourceAppId: is Microsoft Graph's: the program sets the Graph permissions the sign-in needs (openid, profile, email, offline_access, User.Read); list other APIs here`,
        ],
        [
            "an API listed twice",
            {
                openidScopes: ["openid", "profile", "offline_access"],
                delegatedPermissions: [
                    { resourceAppId: "e406a681-f3d4-42a8-90b6-c2b029497af1", scopes: ["user_impersonation"] },
                    { resourceAppId: "E406A681-F3D4-42A8-90B6-C2B029497AF1", scopes: ["other"] },
                ],
            },
            `${NS}:delegatedPermissions.1.resourceAppId: E406A681-F3D4-42A8-90B6-C2B029497AF1 is listed twice: put all of its permissions in one entry`,
        ],
        [
            "an API without permissions",
            {
                openidScopes: ["openid", "profile", "offline_access"],
                delegatedPermissions: [{ resourceAppId: "e406a681-f3d4-42a8-90b6-c2b029497af1", scopes: [] }],
            },
            `${NS}:delegatedPermissions.0.scopes: expected at least one delegated permission name, e.g. [user_impersonation]`,
        ],
        [
            "an API by its name",
            {
                openidScopes: ["openid", "profile", "offline_access"],
                delegatedPermissions: [{ resourceAppId: "Azure Storage", scopes: ["user_impersonation"] }],
            },
            `${NS}:delegatedPermissions.0.resourceAppId: expected the application (client) id of the API, e.g. e406a681-f3d4-42a8-90b6-c2b029497af1 for Azure Storage as a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`,
        ],
        [
            "scopes without openid",
            { openidScopes: ["profile", "email"] },
            `${NS}:openidScopes: must include openid: without it Entra ID issues no ID token, and Workbench signs in with OpenID Connect`,
        ],
        [
            "scopes without profile while the user name is preferred_username",
            { openidScopes: ["openid", "offline_access"] },
            `${NS}:openidScopes: must include profile while usernameClaim is preferred_username: Entra ID sends that claim only with the profile scope`,
        ],
        [
            "a scope with a space in it",
            { openidScopes: ["openid profile"] },
            `${NS}:openidScopes.0: expected a scope name such as openid, profile, email or offline_access (no spaces, quotes or backslashes)`,
        ],
        [
            "scopes as one string",
            { openidScopes: "openid profile" },
            `${NS}:openidScopes: expected a list of scopes, e.g. [openid, profile, email, offline_access]`,
        ],
        [
            "an unknown option",
            { extraSettings: { "auth-timeout-minute": 60 } },
            `${NS}:extraSettings.auth-timeout-minute: auth-timeout-minute is not in the list of documented rserver.conf options (host/rserver-options.txt, from Posit's rserver.conf reference): an unknown option stops rserver from starting. Check the spelling; add a real option to the list with the page that documents it`,
        ],
        [
            "a key the program sets from another config key",
            { extraSettings: { "user-provisioning-start-uid": 2000 } },
            `${NS}:extraSettings.user-provisioning-start-uid: user-provisioning-start-uid is set by the program from startUid: set startUid instead`,
        ],
        [
            "an admin key",
            { extraSettings: { "admin-group": "admins" } },
            `${NS}:extraSettings.admin-group: admin-group is set by the program from adminGroups: set adminGroups instead`,
        ],
        [
            "the scopes",
            { extraSettings: { "auth-openid-scopes": "openid" } },
            `${NS}:extraSettings.auth-openid-scopes: auth-openid-scopes is set by the program from openidScopes: set openidScopes instead`,
        ],
        [
            "a key the program sets on its own",
            { extraSettings: { "auth-openid": 0 } },
            `${NS}:extraSettings.auth-openid: auth-openid is set by the program itself (Entra ID sign-in and provisioning need it): it cannot be an extra setting`,
        ],
        [
            "the key file the secret is encrypted with",
            { extraSettings: { "secure-cookie-key-file": "/etc/rstudio/other-key" } },
            `${NS}:extraSettings.secure-cookie-key-file: secure-cookie-key-file is read before rserver.conf is written (the client secret is encrypted with that key): change it on every node by hand, then replace the preflights (pulumi up --replace)`,
        ],
        [
            "text for a whole-number option",
            { extraSettings: { "auth-timeout-minutes": "an hour" } },
            `${NS}:extraSettings.auth-timeout-minutes: auth-timeout-minutes takes a whole number, got "an hour"`,
        ],
        [
            "a fraction for a whole-number option",
            { extraSettings: { "auth-timeout-minutes": 1.5 } },
            `${NS}:extraSettings.auth-timeout-minutes: auth-timeout-minutes takes a whole number, got "1.5"`,
        ],
        [
            "a word for a bool option",
            { extraSettings: { "auth-cookies-force-secure": "always" } },
            `${NS}:extraSettings.auth-cookies-force-secure: auth-cookies-force-secure takes true or false (or 1/0, yes/no, on/off), got "always"`,
        ],
        [
            "a value with a line break",
            { extraSettings: { "www-frame-origin": "none\nauth-openid=0" } },
            `${NS}:extraSettings.www-frame-origin: the value of www-frame-origin holds a line break or another control character; expected one line`,
        ],
        [
            "a list as a value",
            { extraSettings: { "www-frame-origin": ["a"] } },
            `${NS}:extraSettings.www-frame-origin: expected a value: text, a number, or true/false`,
        ],
        [
            "a list instead of a map",
            { extraSettings: ["auth-timeout-minutes=60"] },
            `${NS}:extraSettings: expected a map of rserver.conf options to values, e.g. { auth-timeout-minutes: 60 }`,
        ],
    ];
    for (const [what, overrides, message] of refused) {
        it(`refuses ${what} with one line naming the key`, () => {
            expect(problems(overrides)).toEqual([message]);
        });
    }

    it("takes extraSettings as the stack file stores them (a JSON string) and bools in any spelling rserver reads", () => {
        const stored = projectConfig({
            "posit-workbench-entra:extraSettings": JSON.stringify({
                "auth-timeout-minutes": 60,
                "www-enable-origin-check": "Off",
                "server-project-sharing": false,
            }),
        });
        expect(parse(stored).extraSettings).toEqual({ "auth-timeout-minutes": "60", "www-enable-origin-check": "Off", "server-project-sharing": "0" });
    });

    it("reports several bad extra settings at once, one line each", () => {
        expect(
            problems({ extraSettings: { "no-such-option": 1, "auth-timeout-minutes": "x", "auth-openid-issuer": "https://elsewhere" } }).map(
                (p) => p.split(":")[1],
            ),
        ).toEqual(["extraSettings.no-such-option", "extraSettings.auth-timeout-minutes", "extraSettings.auth-openid-issuer"]);
    });
});
