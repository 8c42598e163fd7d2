/**
 * The policy pack's rules on resource properties shaped like the program's (values as the engine
 * hands them to a policy: secrets unwrapped). Each rule must pass a compliant stack and name each
 * violation.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { UnknownValueError } from "@pulumi/policy";
import { assignmentRequired, hostKeyPinned, noSecretInCommand, noStackSecretInCommand, policies, scimHttps, secretEndDate } from "../../policy/rules";
import { installScriptsCommand, removeScriptsCommand } from "../../host/commands";

interface Resource {
    type: string;
    name: string;
    props: Record<string, any>;
}

const days = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();
const SECRET = "Zq8~entra-client-secret-value";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMXMcq/uGmyi+WqqjV58RFq9mf5ZXy8Y2zZSo5cs75JK";

function compliantStack(): Resource[] {
    const connection = { host: "10.0.0.5", port: 22, user: "admin", hostKey: HOST_KEY, privateKey: KEY };
    return [
        { type: "azuread:index/servicePrincipal:ServicePrincipal", name: "workbench", props: { appRoleAssignmentRequired: true } },
        {
            type: "azuread:index/applicationPassword:ApplicationPassword",
            name: "workbench-client-secret",
            props: { endDate: days(210), rotateWhenChanged: { rotation: "r" }, value: SECRET },
        },
        {
            type: "azuread:index/synchronizationSecret:SynchronizationSecret",
            name: "workbench-scim",
            props: {
                credentials: [
                    { key: "BaseAddress", value: "https://workbench.example.com/scim/v2" },
                    { key: "SecretToken", value: "scim-token-0123456789" },
                ],
            },
        },
        {
            type: "command:remote:Command",
            name: "workbench-node1-encrypt-client-secret",
            props: { connection, create: "sudo -n env WB_CLIENT_ID='x' bash -c '...' encrypt-client-secret apply", stdin: `${SECRET}\n` },
        },
    ];
}

/** Runs every rule over a stack; returns "<rule>: <message>" per violation. */
function evaluate(resources: Resource[], config: Record<string, unknown> = {}): string[] {
    const violations: string[] = [];
    for (const policy of policies) {
        const report = (message: string) => violations.push(`${policy.name}: ${message}`);
        if ("validateResource" in policy) {
            const validate = (policy as ResourceValidationPolicy).validateResource as Function;
            for (const r of resources) validate({ ...r, urn: `urn:${r.name}`, getConfig: () => config }, report);
        } else {
            ((policy as StackValidationPolicy).validateStack as Function)(
                { resources: resources.map((r) => ({ ...r, urn: `urn:${r.name}` })), getConfig: () => config },
                report,
            );
        }
    }
    return violations;
}

const withProps = (stack: Resource[], name: string, props: Record<string, any>) =>
    stack.map((r) => (r.name === name ? { ...r, props: { ...r.props, ...props } } : r));

describe("the policy pack", () => {
    it("passes a compliant stack", () => {
        expect(evaluate(compliantStack())).toEqual([]);
    });

    it("reports an enterprise app without assignment required", () => {
        expect(evaluate(withProps(compliantStack(), "workbench", { appRoleAssignmentRequired: false }))).toEqual([
            expect.stringMatching(new RegExp(`^${assignmentRequired.name}: workbench: set appRoleAssignmentRequired: true`)),
        ]);
    });

    it("reports a client secret ending too far out, and honours maxSecretDays", () => {
        const stack = withProps(compliantStack(), "workbench-client-secret", { endDate: days(700) });
        expect(evaluate(stack)).toEqual([
            expect.stringMatching(new RegExp(`^${secretEndDate.name}: workbench-client-secret: endDate .* is 700 days out; at most 365 allowed`)),
        ]);
        expect(evaluate(stack, { maxSecretDays: 730 })).toEqual([]);
        expect(evaluate(compliantStack(), { maxSecretDays: 90 })).toEqual([expect.stringMatching(/at most 90 allowed/)]);
    });

    it("reports a client secret without an end date", () => {
        expect(evaluate(withProps(compliantStack(), "workbench-client-secret", { endDate: undefined }))).toEqual([
            expect.stringMatching(/^client-secret-end-date: .*no endDate/),
        ]);
    });

    it("reports a host command without a pinned host key", () => {
        const stack = compliantStack();
        const cmd = stack[3];
        cmd.props = { ...cmd.props, connection: { ...cmd.props.connection, hostKey: undefined } };
        expect(evaluate(stack)).toEqual([
            expect.stringMatching(new RegExp(`^${hostKeyPinned.name}: workbench-node1-encrypt-client-secret: connection.hostKey is not set`)),
        ]);
    });

    it("passes a host command reached through a bastion whose host key is pinned, and reports one whose bastion's is not", () => {
        const BASTION_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nYmFzdGlvbi1rZXktYm9keS1saW5l\n-----END OPENSSH PRIVATE KEY-----";
        const viaBastion = (hostKey: string | undefined) => {
            const stack = compliantStack();
            const cmd = stack[3];
            cmd.props = {
                ...cmd.props,
                connection: { ...cmd.props.connection, proxy: { host: "10.0.0.4", port: 22, user: "jump", privateKey: BASTION_KEY, hostKey } },
            };
            return stack;
        };
        expect(evaluate(viaBastion(HOST_KEY))).toEqual([]);
        for (const unpinned of [undefined, " "]) {
            expect(evaluate(viaBastion(unpinned))).toEqual([
                expect.stringMatching(
                    new RegExp(
                        `^${hostKeyPinned.name}: workbench-node1-encrypt-client-secret: connection.proxy.hostKey is not set, so the SSH connection to the bastion accepts any host key`,
                    ),
                ),
            ]);
        }
        // The bastion's private key is the command's own secret too.
        const leaked = withProps(viaBastion(HOST_KEY), "workbench-node1-encrypt-client-secret", { delete: "echo YmFzdGlvbi1rZXktYm9keS1saW5l" });
        expect(evaluate(leaked)).toEqual(
            expect.arrayContaining([
                `${noSecretInCommand.name}: workbench-node1-encrypt-client-secret: its delete command contains a secret value; send secrets on stdin instead.`,
            ]),
        );
    });

    it("reports a command carrying its own secret (stdin, SSH key), per resource so previews catch it", () => {
        for (const secret of [SECRET, "b3BlbnNzaC1rZXktdjEAAAAA"]) {
            const stack = withProps(compliantStack(), "workbench-node1-encrypt-client-secret", { delete: `echo ${secret} | sudo -n tee /x` });
            expect(evaluate(stack), secret).toEqual(
                expect.arrayContaining([
                    `${noSecretInCommand.name}: workbench-node1-encrypt-client-secret: its delete command contains a secret value; send secrets on stdin instead.`,
                ]),
            );
        }
    });

    it("reports a command carrying another resource's secret (the SCIM token)", () => {
        const stack = withProps(compliantStack(), "workbench-node1-encrypt-client-secret", { update: "echo scim-token-0123456789" });
        expect(evaluate(stack)).toEqual([
            `${noStackSecretInCommand.name}: workbench-node1-encrypt-client-secret: its update command contains a secret value; send secrets on stdin instead.`,
        ]);
    });

    it("takes the program's own scripts, sent on the install command's stdin, for code, not for a secret", () => {
        const connection = { host: "10.0.0.5", port: 22, user: "admin", hostKey: HOST_KEY, privateKey: KEY };
        const bundle = "file nscd-v1.sh 40\nset -euo pipefail\numask 077\nwb_log() { :; }\n";
        const install = {
            type: "command:remote:Command",
            name: "workbench-node1-scripts-1a2b3c4d",
            props: { connection, create: installScriptsCommand("prod"), stdin: bundle },
        };
        const removal = {
            type: "command:remote:Command",
            name: "workbench-node1-scripts-removal",
            props: { connection, delete: removeScriptsCommand("prod", "prod/10.0.0.5:22") },
        };
        // Their text shares lines (set -euo pipefail, umask 077) with the scripts it installs.
        expect(installScriptsCommand("prod")).toContain("set -euo pipefail");
        expect(evaluate([...compliantStack(), install, removal])).toEqual([]);
        // Any other command's stdin is a secret still.
        const step = withProps(compliantStack(), "workbench-node1-encrypt-client-secret", { stdin: bundle, delete: "set -euo pipefail; umask 077" });
        expect(evaluate(step)).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^no-secret-in-command-string: workbench-node1-encrypt-client-secret: its delete command contains a secret/),
            ]),
        );
    });

    it("checks what a preview knows and skips what it does not know yet", () => {
        const stack = compliantStack();
        const unknown = () => {
            throw new UnknownValueError("04da6b54-80e4-46f7-96ec-b56ff0331ba9", ["stdin"]);
        };
        Object.defineProperty(stack[3].props, "stdin", { get: unknown });
        Object.defineProperty(stack[3].props, "create", { get: unknown });
        stack[3].props.delete = `cat ${KEY.split("\n")[1]}`;
        expect(evaluate(stack)).toEqual(
            expect.arrayContaining([expect.stringMatching(/^no-secret-in-command-string: .*its delete command contains a secret/)]),
        );
    });

    it("reports a SCIM base address that is not https", () => {
        const stack = withProps(compliantStack(), "workbench-scim", { credentials: [{ key: "BaseAddress", value: "http://workbench.example.com/scim/v2" }] });
        expect(evaluate(stack)).toEqual([expect.stringMatching(new RegExp(`^${scimHttps.name}: workbench-scim: the SCIM BaseAddress "http://`))]);
    });

    it("makes every rule mandatory", () => {
        for (const p of policies) expect(p.enforcementLevel, p.name).toBe("mandatory");
    });
});
