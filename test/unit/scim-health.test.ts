/**
 * provisioningNotificationEmail and allowUntrustedScimCertificate: their validation, the job's
 * SyncNotificationSettings secret, and the SCIM endpoint's certificate checked at up before the job.
 */
import { createServer, Server } from "node:https";
import { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfig } from "../../config";
import { scimCertificateGate } from "../../components/scimCertificateGate";
import { UserError } from "../../errors";
import { makeProbeCertificates, ProbeCertificates } from "../scim/certs";
import { baseConfig, byType, reveal, runProgram, SCIM_TOKEN } from "./program";

const EMAIL = "workbench-admins@example.com";
const JOB = "azuread:index/synchronizationJob:SynchronizationJob";
const SECRET = "azuread:index/synchronizationSecret:SynchronizationSecret";

const problems = (raw: Record<string, unknown>, clientSecret = false) => {
    try {
        parseConfig({ ...raw, sshPrivateKey: undefined }, "prod", { sshPrivateKey: true, clientSecret });
        return [];
    } catch (error) {
        return (error as ConfigError).problems;
    }
};

describe("provisioningNotificationEmail and allowUntrustedScimCertificate in the configuration", () => {
    const scim = { ...baseConfig(), provisioning: "scim" };
    const external = {
        ...scim,
        assignedUsers: [],
        assignedGroups: [],
        entraMode: "external",
        tenantId: "11111111-2222-3333-4444-555555555555",
        clientId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    };

    it("takes an email address with a managed app and SCIM, and defaults the certificate gate to on", () => {
        const config = parseConfig({ ...scim, provisioningNotificationEmail: EMAIL, sshPrivateKey: undefined }, "prod", {
            sshPrivateKey: true,
            clientSecret: false,
        });
        expect(config.provisioningNotificationEmail).toBe(EMAIL);
        expect(config.allowUntrustedScimCertificate).toBe(false);
    });

    it("refuses it with an external app, saying who sets it then", () => {
        expect(problems({ ...external, provisioningNotificationEmail: EMAIL }, true)).toEqual([
            'posit-workbench-entra:provisioningNotificationEmail: only used with entraMode "managed": with "external" the owners of the app set the notification email of its provisioning job',
        ]);
    });

    it("refuses it with JIT provisioning", () => {
        expect(problems({ ...baseConfig(), provisioningNotificationEmail: EMAIL })).toEqual([
            'posit-workbench-entra:provisioningNotificationEmail: only used with provisioning "scim": it is the email of the SCIM provisioning job',
        ]);
    });

    it("refuses allowUntrustedScimCertificate where up creates no provisioning job", () => {
        const message =
            'posit-workbench-entra:allowUntrustedScimCertificate: only used with provisioning "scim" and entraMode "managed", where up checks the SCIM endpoint\'s certificate before it creates the provisioning job';
        expect(problems({ ...baseConfig(), allowUntrustedScimCertificate: true })).toEqual([message]);
        expect(problems({ ...external, allowUntrustedScimCertificate: true }, true)).toEqual([message]);
        expect(problems({ ...scim, allowUntrustedScimCertificate: true })).toEqual([]);
    });

    it("refuses anything but one email address", () => {
        for (const value of ["admins", "a@b", "a@example.com, b@example.com", "Admins <a@example.com>"]) {
            expect(problems({ ...scim, provisioningNotificationEmail: value })).toEqual([
                "posit-workbench-entra:provisioningNotificationEmail: expected one email address, e.g. workbench-admins@example.com",
            ]);
        }
        expect(problems({ ...scim, provisioningNotificationEmail: 42 })).toEqual([
            "posit-workbench-entra:provisioningNotificationEmail: expected an email address, e.g. workbench-admins@example.com",
        ]);
        expect(problems({ ...scim, allowUntrustedScimCertificate: "yes" })).toEqual([
            "posit-workbench-entra:allowUntrustedScimCertificate: expected true or false",
        ]);
    });
});

let certs: ProbeCertificates;
let selfSigned: Server;
let endpoint: string;
let connections = 0;

beforeAll(async () => {
    certs = makeProbeCertificates("workbench.example.com");
    selfSigned = createServer({ key: certs.selfSigned.key, cert: certs.selfSigned.cert }, (_req, res) => res.writeHead(401).end());
    selfSigned.on("secureConnection", () => connections++);
    selfSigned.on("tlsClientError", () => connections++);
    await new Promise<void>((resolve) => selfSigned.listen(0, "127.0.0.1", resolve));
    endpoint = `127.0.0.1:${(selfSigned.address() as AddressInfo).port}`;
});
afterAll(() => {
    selfSigned.close();
    certs.cleanup();
});

describe("the job's quarantine email", () => {
    it("goes into the synchronization secret as SyncNotificationSettings, deletion threshold at Microsoft's defaults", async () => {
        const { resources } = await runProgram({ ...baseConfig(), provisioning: "scim", provisioningNotificationEmail: EMAIL });
        const [secret] = byType(resources, SECRET);
        expect(reveal(secret.inputs.credentials)).toEqual([
            { key: "BaseAddress", value: "https://workbench.example.com/scim/v2" },
            { key: "SecretToken", value: SCIM_TOKEN },
            { key: "SyncAll", value: "false" },
            { key: "SyncNotificationSettings", value: `{"Enabled":true,"Recipients":"${EMAIL}","DeleteThresholdEnabled":true,"DeleteThresholdValue":500}` },
        ]);
    });

    it("is left to Entra ID's default when not configured", async () => {
        const { resources } = await runProgram({ ...baseConfig(), provisioning: "scim" });
        expect(reveal(byType(resources, SECRET)[0].inputs.credentials).map((c: { key: string }) => c.key)).toEqual(["BaseAddress", "SecretToken", "SyncAll"]);
    });
});

describe("the SCIM endpoint's certificate at up", () => {
    it("stops on a self-signed certificate, naming it and the way out", async () => {
        const warn = vi.fn();
        const gate = scimCertificateGate("https://workbench.example.com/scim/v2", {
            dryRun: false,
            allowUntrusted: false,
            warn,
            probe: { connectTo: { host: "127.0.0.1", port: Number(endpoint.split(":")[1]) } },
        });
        await expect(gate).rejects.toBeInstanceOf(UserError);
        await expect(gate).rejects.toThrow(
            /the certificate is self-signed: Entra ID will not provision to it[\s\S]*The provisioning job was not created or changed[\s\S]*allowUntrustedScimCertificate to true/,
        );
        expect(warn).not.toHaveBeenCalled();
    });

    it("goes on with a warning when allowUntrustedScimCertificate is true", async () => {
        const warn = vi.fn();
        await scimCertificateGate("https://workbench.example.com/scim/v2", {
            dryRun: false,
            allowUntrusted: true,
            warn,
            probe: { connectTo: { host: "127.0.0.1", port: Number(endpoint.split(":")[1]) } },
        });
        expect(warn).toHaveBeenCalledWith(expect.stringMatching(/self-signed.*allowUntrustedScimCertificate is true: the provisioning job is created anyway/));
    });

    it("goes on with a warning when the endpoint is out of reach from here", async () => {
        const warn = vi.fn();
        await scimCertificateGate("https://workbench.example.com/scim/v2", {
            dryRun: false,
            allowUntrusted: false,
            warn,
            probe: { connectTo: { host: "127.0.0.1", port: 1 } },
        });
        expect(warn).toHaveBeenCalledWith(expect.stringContaining("is not reachable from this machine (ECONNREFUSED)"));
    });

    // The server counts a connection when its side of the handshake ends: a moment after the client's.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

    it("does not probe at preview, and the preview's job is unchanged", async () => {
        await settle();
        const before = connections;
        const { resources } = await runProgram({ ...baseConfig(), provisioning: "scim" }, { preview: true, scimEndpoint: endpoint });
        await settle();
        expect(connections).toBe(before);
        expect(byType(resources, JOB)[0].inputs).toMatchObject({ templateId: "scim", enabled: true });
    });

    it("probes at up before the job, which is created once allowUntrustedScimCertificate lets a self-signed certificate through", async () => {
        await settle();
        const before = connections;
        const { resources } = await runProgram({ ...baseConfig(), provisioning: "scim", allowUntrustedScimCertificate: true }, { scimEndpoint: endpoint });
        await settle();
        expect(connections).toBe(before + 1);
        expect(byType(resources, JOB)[0].inputs).toMatchObject({ templateId: "scim", enabled: true });
    });

    it("registers the job only once the check has passed (the secret does not wait)", async () => {
        vi.resetModules();
        const pulumi = await import("@pulumi/pulumi");
        const registered: string[] = [];
        await pulumi.runtime.setMocks(
            { newResource: (args) => (registered.push(args.type), { id: `${args.name}-id`, state: args.inputs }), call: () => ({}) },
            "posit-workbench-entra",
            "prod",
            false,
        );
        const { ScimProvisioning } = await import("../../components/scimProvisioning");
        // A refusal rejects this promise, and the SDK fails the deployment with its message (the gate's tests above).
        let pass!: () => void;
        const ready = new Promise<void>((resolve) => (pass = resolve));
        const scim = new ScimProvisioning("workbench-scim", {
            servicePrincipalId: "/servicePrincipals/sp",
            baseAddress: "https://workbench.example.com/scim/v2",
            token: "t",
            jobTemplate: "scim",
            ready,
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(registered).toContain(SECRET);
        expect(registered).not.toContain(JOB);
        pass();
        await new Promise((resolve) => scim.jobId.apply(resolve));
        expect(registered).toContain(JOB);
    });
});
