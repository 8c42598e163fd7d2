/**
 * The workflows never turn on the engine's debug output: with it, `pulumi` prints the plain value of
 * outputs marked secret (the SCIM token, the encrypted client secret) in its RegisterResource log lines,
 * and GitHub keeps job logs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const WORKFLOWS = join(__dirname, "../../.github/workflows");
const DEBUG = [
    /--debug\b/, // pulumi --debug
    /\s-d(\s|$)/, // its short form
    /--verbose\b|\s-v(=|\s*\d)/, // pulumi -v=9 logs gRPC payloads
    /--logtostderr\b|--logflow\b/,
    /^\s*(debug|log-verbosity|log-flow)\s*:/m, // pulumi/actions inputs
    /\b(PULUMI_DEBUG\w*|TF_LOG|ACTIONS_STEP_DEBUG|ACTIONS_RUNNER_DEBUG)\b/,
];

describe("the workflows", () => {
    const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));

    it("are all read here", () => {
        expect(files).toEqual(expect.arrayContaining(["preview.yml", "deploy.yml", "pulumi-stack.yml", "teardown.yml", "drift.yml"]));
    });

    it.each(files)("%s never enables the engine's debug output (it prints secret outputs in clear)", (file) => {
        const text = readFileSync(join(WORKFLOWS, file), "utf8")
            .split("\n")
            .filter((line) => !/^\s*#/.test(line))
            .join("\n");
        expect(DEBUG.filter((pattern) => pattern.test(text)).map(String)).toEqual([]);
    });

    it("would catch it", () => {
        for (const line of [
            "run: pulumi up --debug --yes",
            "run: pulumi up -d",
            "run: pulumi preview -v=9 --logtostderr",
            "  debug: true",
            "  log-verbosity: 9",
            "env:\n  PULUMI_DEBUG_COMMANDS: true",
        ]) {
            expect(
                DEBUG.some((pattern) => pattern.test(line)),
                line,
            ).toBe(true);
        }
    });
});

describe("the drift workflow", () => {
    const text = readFileSync(join(WORKFLOWS, "drift.yml"), "utf8");

    it("runs nightly and on demand, where the deploys run (SSH reach, the stack's Environment)", () => {
        expect(text).toMatch(/^ {2}schedule:\n {4}- cron: "[^"]+"\n {2}workflow_dispatch:$/m);
        expect(text).toContain("runs-on: ${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}");
        expect(text).toContain("environment: ${{ matrix.stack }}");
    });

    /** The job's steps, in order: each "- " item under `steps:`, as text. */
    const steps = text
        .split(/^ {4}steps:\n/m)[1]
        .split(/^ {6}- /m)
        .filter(Boolean);
    const indexOf = (pattern: RegExp) => steps.findIndex((step) => pattern.test(step));

    it("gives the stack its SSH key from the environment's secret before it checks, after the CLI logged in", () => {
        const key = indexOf(/pulumi config set --stack "\$STACK" --secret sshPrivateKey/);
        expect(key, "a step sets the stack's sshPrivateKey").toBeGreaterThan(-1);
        expect(steps[key]).toContain("SSH_PRIVATE_KEY: ${{ secrets.WORKBENCH_SSH_PRIVATE_KEY }}");
        expect(steps[key]).toContain("STACK: ${{ matrix.stack }}");
        expect(steps[key]).toMatch(/printf '%s\\n' "\$SSH_PRIVATE_KEY" \| pulumi config set/);
        const order = [/^run: npm ci$/m, /pulumi\/actions@/, /pulumi login/, /--secret sshPrivateKey/, /npm run --silent check/].map(indexOf);
        expect(
            order.every((i) => i > -1),
            JSON.stringify(order),
        ).toBe(true);
        expect([...order].sort((a, b) => a - b)).toEqual(order);
    });

    it("signs in to Entra ID by workload identity before the check, for its read of the SCIM job", () => {
        const login = indexOf(/uses: azure\/login@/);
        expect(login, "an azure/login step").toBeGreaterThan(-1);
        expect(steps[login]).toContain("client-id: ${{ vars.AZURE_CLIENT_ID }}");
        expect(steps[login]).not.toMatch(/client-secret|creds:/);
        expect(login).toBeLessThan(indexOf(/npm run --silent check/));
    });

    it("checks each stack, puts the report in the job summary and fails as the check does", () => {
        expect(text).toContain('npm run --silent check -- --stack "$STACK" >check.txt');
        expect(text).toContain('>>"$GITHUB_STEP_SUMMARY"');
        expect(text).toMatch(/status=\$\?[\s\S]*exit "\$status"/);
    });
});
