import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { scriptsResourceName, stepResourceName, WorkbenchCluster } from "../../components/workbenchCluster";
import { installScriptsCommand, removeScriptsCommand, scriptsBundle, stepCommand } from "../../host/commands";
import { planHostSteps } from "../../host/plan";
import { releaseDigest } from "../../host/steps";
import { CLIENT_ID, CLIENT_SECRET, HOST_KEY, SCIM_TOKEN, SSH_PRIVATE_KEY } from "./program";

const KEY_HASH = "a".repeat(64);
const ENCRYPTED = "0123ABCDencryptedvalue0123ABCD";

interface Captured {
    resource: pulumi.Resource;
    name: string;
    props: Record<string, any>;
    opts: pulumi.CustomResourceOptions;
}

/** Builds a WorkbenchCluster under mocks and captures every command with its props and options. */
async function build(nodes: number) {
    const captured: Captured[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const stdout = args.name.endsWith("-preflight")
                    ? `os-family=debian\nsecure-cookie-key-sha256=${KEY_HASH}\n`
                    : args.name.endsWith("-encrypt-client-secret")
                      ? ENCRYPTED
                      : args.name.endsWith("-scim-token")
                        ? SCIM_TOKEN
                        : "";
                return { id: `${args.name}-id`, state: { ...args.inputs, stdout } };
            },
            call: () => ({}),
        },
        "posit-workbench-entra",
        "prod",
        false,
    );
    const cluster = new WorkbenchCluster(
        "wb",
        {
            targets: Array.from({ length: nodes }, (_, i) => ({ address: `10.0.0.${i + 5}`, port: 22, user: "admin", hostKey: HOST_KEY })),
            privateKey: pulumi.secret(SSH_PRIVATE_KEY),
            stack: "prod",
            clientId: CLIENT_ID,
            clientSecret: pulumi.secret(CLIENT_SECRET),
            settings: { "auth-openid": "1" },
            scimTokenDays: 30,
            scimTokenRotation: "2026-12-01T00:00:00Z",
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
    const scripts = captured.filter((c) => c.name.includes("-scripts-") && !c.name.endsWith("-scripts-removal"));
    const removals = captured.filter((c) => c.name.endsWith("-scripts-removal"));
    const steps = captured.filter((c) => !c.name.includes("-scripts-"));
    const step = (name: string) => {
        const found = captured.find((c) => c.name === `wb-${name}`);
        if (!found) throw new Error(`no step ${name}`);
        return found;
    };
    /** The steps a step waits for (every step also waits for its node's scripts, tested apart). */
    const deps = (name: string) =>
        ((step(name).opts.dependsOn as pulumi.Resource[]) ?? [])
            .map((r) => captured.find((c) => c.resource === r)!.name.replace(/^wb-/, ""))
            .filter((n) => !n.includes("-scripts-"))
            .sort();
    const resolved = (o: pulumi.Input<any>) => new Promise<any>((resolve) => pulumi.output(o).apply(resolve));
    return { cluster, captured, steps, scripts, removals, step, deps, resolved };
}

describe("WorkbenchCluster on one host", () => {
    let b: Awaited<ReturnType<typeof build>>;
    beforeAll(async () => {
        b = await build(1);
    });

    it("registers the host steps in order under the component", () => {
        expect(b.steps.map((c) => c.name)).toEqual([
            "wb-10-0-0-5-22-preflight",
            "wb-encrypt-client-secret",
            "wb-10-0-0-5-22-client-secret",
            "wb-10-0-0-5-22-rserver-conf",
            "wb-10-0-0-5-22-home-directories",
            "wb-10-0-0-5-22-nss",
            "wb-10-0-0-5-22-nscd",
            "wb-10-0-0-5-22-restart",
            "wb-scim-token",
        ]);
        for (const c of b.captured) expect(c.opts.parent).toBe(b.cluster);
    });

    it("deletes before replacing every step whose delete restores the host, so an old step's restore never undoes a new step's work", () => {
        for (const c of b.steps) expect(c.opts.deleteBeforeReplace, c.name).toBe(c.name !== "wb-encrypt-client-secret");
    });

    it("installs the step scripts once per release of the steps: named after their versions, never updated, nothing to delete", async () => {
        expect(b.scripts.map((c) => c.name)).toEqual([`wb-10-0-0-5-22-scripts-${releaseDigest()}`]);
        expect(scriptsResourceName("wb", { address: "10.0.0.5", port: 22, user: "admin" })).toBe(b.scripts[0].name);
        const [scripts] = b.scripts;
        expect(scripts.props.create).toBe(installScriptsCommand("prod"));
        expect(scripts.props.stdin).toBe(scriptsBundle());
        expect(scripts.props.delete).toBeUndefined();
        expect(scripts.opts.ignoreChanges).toEqual(["create", "stdin", "connection"]);
        expect(await b.resolved(scripts.props.connection)).toMatchObject({ host: "10.0.0.5", port: 22, user: "admin", hostKey: HOST_KEY });
        for (const c of b.steps) expect((c.opts.dependsOn as pulumi.Resource[]).includes(scripts.resource), c.name).toBe(true);
    });

    it("removes the scripts after the node's last step, with a resource that has only a delete (so a new connection runs nothing)", async () => {
        expect(b.removals.map((c) => c.name)).toEqual(["wb-10-0-0-5-22-scripts-removal"]);
        const [removal] = b.removals;
        expect(removal.props.create).toBeUndefined();
        expect(removal.props.update).toBeUndefined();
        expect(removal.props.delete).toBe(removeScriptsCommand("prod", "prod/10.0.0.5:22"));
        expect(await b.resolved(removal.props.connection)).toMatchObject({ host: "10.0.0.5", hostKey: HOST_KEY });
        for (const c of b.steps) expect((c.opts.dependsOn as pulumi.Resource[]).includes(removal.resource), c.name).toBe(true);
    });

    it("runs the installed scripts: create, update and delete name the step's version and carry its values, never the script", async () => {
        for (const c of b.steps) {
            const [create, update, remove] = await Promise.all([b.resolved(c.props.create), b.resolved(c.props.update), b.resolved(c.props.delete)]);
            const id = c.name.replace(/^wb-(10-0-0-5-22-)?/, "") as Parameters<typeof stepCommand>[0];
            expect(create, c.name).toMatch(new RegExp(`'/var/lib/posit-workbench-entra/scripts/prod/${id}-v\\d+\\.sh' apply$`));
            expect(update, c.name).toBe(create.replace(/ apply$/, " update"));
            expect(remove, c.name).toMatch(/ remove$/);
            for (const command of [create, update, remove]) {
                expect(command.length, c.name).toBeLessThan(1500);
                expect(command, c.name).not.toContain("wb_fail");
            }
        }
    });

    it("gives the token step the rotation as a value, not a trigger: a rotation is an update the step answers with a new token", async () => {
        const token = b.step("scim-token");
        expect(token.props.triggers).toEqual(["10.0.0.5:22"]);
        expect(await b.resolved(token.props.create)).toContain("WB_TOKEN_ROTATION='2026-12-01T00:00:00Z'");
    });

    it("orders the steps: encrypt after preflight, secret before rserver.conf, PAM before NSS, restart after all, token after restart", () => {
        expect(b.deps("10-0-0-5-22-preflight")).toEqual([]);
        expect(b.deps("encrypt-client-secret")).toEqual(["10-0-0-5-22-preflight"]);
        expect(b.deps("10-0-0-5-22-client-secret")).toEqual(["10-0-0-5-22-preflight", "encrypt-client-secret"]);
        expect(b.deps("10-0-0-5-22-rserver-conf")).toEqual(["10-0-0-5-22-client-secret"]);
        expect(b.deps("10-0-0-5-22-nss")).toEqual(["10-0-0-5-22-home-directories"]);
        expect(b.deps("10-0-0-5-22-restart")).toEqual([
            "10-0-0-5-22-client-secret",
            "10-0-0-5-22-home-directories",
            "10-0-0-5-22-nscd",
            "10-0-0-5-22-nss",
            "10-0-0-5-22-rserver-conf",
        ]);
        expect(b.deps("scim-token")).toEqual(["10-0-0-5-22-restart"]);
    });

    it("keeps the encrypted secret's and the token's stdout secret and unlogged", () => {
        for (const name of ["encrypt-client-secret", "scim-token"]) {
            expect(b.step(name).opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
            expect(b.step(name).props.logging).toBe("none");
        }
    });

    it("sends the client secret to the encrypt step and its encrypted form to the file step, both secret", async () => {
        const encrypt = b.step("encrypt-client-secret").props.stdin;
        const write = b.step("10-0-0-5-22-client-secret").props.stdin;
        expect(await pulumi.isSecret(pulumi.output(encrypt))).toBe(true);
        expect(await pulumi.isSecret(pulumi.output(write))).toBe(true);
        expect(await b.resolved(encrypt)).toBe(`secure-cookie-key-sha256=${KEY_HASH} preflight=wb-10-0-0-5-22-preflight-id\n${CLIENT_SECRET}\n`);
        expect(await b.resolved(write)).toBe(`secure-cookie-key-sha256=${KEY_HASH} preflight=wb-10-0-0-5-22-preflight-id\n${ENCRYPTED}\n`);
        expect(await pulumi.isSecret(pulumi.output(b.step("10-0-0-5-22-restart").props.stdin))).toBe(true);
    });

    it("checks the shared key hash before writing: every writing step gets it first on stdin, with its node's preflight id, none in its command", async () => {
        for (const name of ["encrypt-client-secret", "client-secret", "rserver-conf", "home-directories", "nss", "nscd", "scim-token"]) {
            const step = b.step(["encrypt-client-secret", "scim-token"].includes(name) ? name : `10-0-0-5-22-${name}`);
            expect(await b.resolved(step.props.create), name).toContain("WB_KEY_CHECK='stdin'");
            expect(await b.resolved(step.props.create), name).not.toContain(KEY_HASH);
            expect(await b.resolved(step.props.stdin), name).toMatch(
                new RegExp(`^secure-cookie-key-sha256=${KEY_HASH} preflight=wb-10-0-0-5-22-preflight-id\n`),
            );
        }
    });

    it("pins the host key and replaces the steps when the address changes", async () => {
        const c = b.step("10-0-0-5-22-preflight");
        expect(await b.resolved(c.props.connection)).toMatchObject({ host: "10.0.0.5", port: 22, user: "admin", hostKey: HOST_KEY });
        expect(c.props.triggers).toEqual(["10.0.0.5:22"]);
    });

    it("never puts a secret in a command string", async () => {
        for (const c of b.captured) {
            const commands = `${await b.resolved(c.props.create)}${await b.resolved(c.props.update)}${await b.resolved(c.props.delete)}`;
            for (const secret of [CLIENT_SECRET, ENCRYPTED, SCIM_TOKEN, SSH_PRIVATE_KEY]) expect(commands, c.name).not.toContain(secret);
        }
    });

    it("exposes the token only as a secret", async () => {
        expect(await pulumi.isSecret(b.cluster.scimToken!)).toBe(true);
        expect(await b.resolved(b.cluster.osFamilies)).toEqual(["debian"]);
    });
});

describe("WorkbenchCluster on three nodes", () => {
    let b: Awaited<ReturnType<typeof build>>;
    beforeAll(async () => {
        b = await build(3);
    });

    it("encrypts once and generates the token once, on the first node", () => {
        expect(b.captured.filter((c) => c.name.endsWith("-encrypt-client-secret")).map((c) => c.name)).toEqual(["wb-encrypt-client-secret"]);
        expect(b.captured.filter((c) => c.name.endsWith("-scim-token")).map((c) => c.name)).toEqual(["wb-scim-token"]);
    });

    it("runs every preflight before anything is written, and writes the same encrypted value everywhere", async () => {
        expect(b.deps("encrypt-client-secret")).toEqual(["10-0-0-5-22-preflight", "10-0-0-6-22-preflight", "10-0-0-7-22-preflight"]);
        for (const node of [1, 2, 3])
            expect(await b.resolved(b.step(`10-0-0-${node + 4}-22-client-secret`).props.stdin)).toMatch(
                new RegExp(`^secure-cookie-key-sha256=[0-9a-f]{64} preflight=wb-10-0-0-${node + 4}-22-preflight-id\\n${ENCRYPTED}\\n$`),
            );
    });

    it("rolls: a node is configured only after the previous node restarted", () => {
        for (const name of ["preflight", "client-secret", "home-directories", "nscd"].map((s) => `10-0-0-6-22-${s}`)) {
            if (name.endsWith("preflight"))
                expect(b.deps(name)).toEqual(["10-0-0-5-22-preflight"]); // chained: destroy restarts one node at a time
            else expect(b.deps(name)).toContain("10-0-0-5-22-restart");
        }
        expect(b.deps("10-0-0-7-22-home-directories")).toEqual(["10-0-0-6-22-restart", "10-0-0-7-22-preflight"]);
        expect(b.deps("10-0-0-7-22-nscd")).toEqual(["10-0-0-6-22-restart", "10-0-0-7-22-preflight"]);
    });
});

describe("step resource names", () => {
    const node = (address: string) => ({ address, port: 22, user: "admin", hostKey: HOST_KEY });
    const names = (targets: ReturnType<typeof node>[]) => planHostSteps(targets.length, true).map((step) => stepResourceName("wb", step, targets[step.node]));

    it("follow the node's address, so removing a node from the middle leaves the others' steps alone", () => {
        const three = names([node("10.0.0.5"), node("10.0.0.6"), node("10.0.0.7")]);
        const two = names([node("10.0.0.5"), node("10.0.0.7")]);
        expect(three.filter((n) => !two.includes(n)).every((n) => n.startsWith("wb-10-0-0-6-22-"))).toBe(true);
        expect(two.every((n) => three.includes(n))).toBe(true);
    });

    it("name the steps that run once after the cluster", () => {
        expect(names([node("wb1.example.com")])).toEqual(
            expect.arrayContaining(["wb-encrypt-client-secret", "wb-scim-token", "wb-wb1-example-com-22-preflight"]),
        );
    });
});
