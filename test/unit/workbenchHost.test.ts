import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { WorkbenchHost } from "../../components/workbenchHost";
import { CLIENT_ID, CLIENT_SECRET, HOST_KEY, SCIM_TOKEN, SSH_PRIVATE_KEY } from "./program";

interface Captured {
    resource: pulumi.Resource;
    name: string;
    props: Record<string, any>;
    opts: pulumi.CustomResourceOptions;
}

describe("WorkbenchHost resource options", () => {
    const captured: Captured[] = [];
    let host: WorkbenchHost;

    beforeAll(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, stdout: args.name.endsWith("scim-token") ? SCIM_TOKEN : "" } }),
                call: () => ({}),
            },
            "posit-workbench-entra",
            "prod",
            false,
        );
        host = new WorkbenchHost(
            "wb",
            {
                target: { address: "127.0.0.1", port: 2222, user: "admin", hostKey: HOST_KEY },
                privateKey: pulumi.secret(SSH_PRIVATE_KEY),
                stack: "prod",
                clientId: CLIENT_ID,
                clientSecret: pulumi.secret(CLIENT_SECRET),
                settings: { "auth-openid": "1" },
                scimTokenDays: 30,
            },
            {
                transformations: [
                    (args) => {
                        if (args.type === "command:remote:Command") captured.push({ resource: args.resource, name: args.name, props: args.props, opts: args.opts });
                        return undefined;
                    },
                ],
            },
        );
    });

    const step = (id: string) => {
        const found = captured.find((c) => c.name === `wb-${id}`);
        if (!found) throw new Error(`no step ${id}`);
        return found;
    };

    it("registers the host steps in order under the component", () => {
        expect(captured.map((c) => c.name)).toEqual(["wb-preflight", "wb-client-secret", "wb-rserver-conf", "wb-home-directories", "wb-nss", "wb-nscd", "wb-restart", "wb-scim-token"]);
        for (const c of captured) expect(c.opts.parent).toBe(host);
    });

    it("deletes before replacing every step, so an old step's restore never undoes a new step's work", () => {
        for (const c of captured) expect(c.opts.deleteBeforeReplace, c.name).toBe(true);
    });

    it("orders the steps: secret before rserver.conf, PAM before NSS, restart after all, token after restart", () => {
        const deps = (id: string) => ((step(id).opts.dependsOn as pulumi.Resource[]) ?? []).map((r) => captured.find((c) => c.resource === r)?.name);
        expect(deps("preflight")).toEqual([]);
        expect(deps("client-secret")).toEqual(["wb-preflight"]);
        expect(deps("rserver-conf")).toEqual(["wb-client-secret"]);
        expect(deps("home-directories")).toEqual(["wb-preflight"]);
        expect(deps("nss")).toEqual(["wb-home-directories"]);
        expect(deps("nscd")).toEqual(["wb-preflight"]);
        expect(deps("restart").sort()).toEqual(["wb-client-secret", "wb-home-directories", "wb-nscd", "wb-nss", "wb-rserver-conf"]);
        expect(deps("scim-token")).toEqual(["wb-restart"]);
    });

    it("keeps the token's stdout and stderr secret and unlogged", () => {
        expect(step("scim-token").opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
        expect(step("client-secret").opts.additionalSecretOutputs ?? []).not.toContain("stdout");
        expect(step("scim-token").props.logging).toBe("none");
    });

    it("marks the client secret's stdin and the restart digest secret", async () => {
        expect(await pulumi.isSecret(pulumi.output(step("client-secret").props.stdin))).toBe(true);
        expect(await pulumi.isSecret(pulumi.output(step("restart").props.stdin))).toBe(true);
    });

    it("exposes the token only as a secret", async () => {
        expect(host.scimToken).toBeDefined();
        expect(await pulumi.isSecret(host.scimToken!)).toBe(true);
    });
});
