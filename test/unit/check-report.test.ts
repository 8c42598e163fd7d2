import { describe, expect, it } from "vitest";
import { CheckReport, classify, exitCode, parseCheckOutput, renderText, repairCommand, StepCheck, summary } from "../../check/report";

const step = (overrides: Partial<StepCheck>): StepCheck => ({
    step: "rserver-conf",
    resource: "r",
    status: "in sync",
    notes: [],
    problems: [],
    warnings: [],
    diff: "",
    ...overrides,
});
const urn = (id: string) => `urn:pulumi:prod::posit-workbench-entra::workbench:host:WorkbenchCluster$command:remote:Command::workbench-10-0-0-5-22-${id}`;

describe("a step's check output", () => {
    it("is read into notes, problems, warnings, the diff and the verdict", () => {
        const parsed = parseCheckOutput(
            [
                "note=/etc/nscd.conf would change:",
                "--- /etc/nscd.conf",
                "+++ /etc/nscd.conf (after apply)",
                "@@ -1,2 +1,2 @@",
                " \tparanoia no",
                "-\tenable-cache passwd yes",
                "+\tenable-cache passwd no",
                "problem=rstudio-server is not active",
                "warning=no curl",
                "check=would-change",
                "",
            ].join("\n"),
        );
        expect(parsed).toEqual({
            wouldChange: true,
            notes: ["/etc/nscd.conf would change:"],
            problems: ["rstudio-server is not active"],
            warnings: ["no curl"],
            diff: "--- /etc/nscd.conf\n+++ /etc/nscd.conf (after apply)\n@@ -1,2 +1,2 @@\n \tparanoia no\n-\tenable-cache passwd yes\n+\tenable-cache passwd no\n",
        });
    });

    it("without a verdict is an error, not an 'in sync'", () => {
        expect(() => parseCheckOutput("note=something\n")).toThrow(/no verdict/);
    });
});

describe("a step's status", () => {
    it("is in sync when apply would change nothing, drifted when it would with the inputs the stack applied, else would change", () => {
        expect([classify(false, true), classify(false, false), classify(true, true), classify(true, false)]).toEqual([
            "in sync",
            "in sync",
            "drifted",
            "would change",
        ]);
    });
});

describe("the repair", () => {
    it("replaces each drifted step, and the node's restart after a step Workbench reads", () => {
        const nodes = [
            {
                name: "node1 (10.0.0.5:22)",
                seconds: 1,
                steps: [
                    step({ step: "rserver-conf", status: "drifted", urn: urn("rserver-conf") }),
                    step({ step: "nscd", status: "would change", urn: urn("nscd") }),
                    step({ step: "restart", urn: urn("restart") }),
                ],
            },
        ];
        expect(repairCommand("prod", nodes)).toBe(`pulumi up --stack prod --replace '${urn("rserver-conf")}' --replace '${urn("restart")}'`);
    });

    it("restarts Workbench after repairing any step that can leave a restart pending (each one alone)", () => {
        for (const id of ["client-secret", "rserver-conf", "home-directories", "nss"]) {
            const nodes = [
                {
                    name: "n",
                    seconds: 1,
                    steps: [step({ step: id as StepCheck["step"], status: "drifted", urn: urn(id) }), step({ step: "restart", urn: urn("restart") })],
                },
            ];
            expect(repairCommand("prod", nodes), id).toBe(`pulumi up --stack prod --replace '${urn(id)}' --replace '${urn("restart")}'`);
        }
    });

    it("does not restart Workbench for a step it does not read (nscd, the token), and is absent without drift", () => {
        const nodes = [
            { name: "n", seconds: 1, steps: [step({ step: "nscd", status: "drifted", urn: urn("nscd") }), step({ step: "restart", urn: urn("restart") })] },
        ];
        expect(repairCommand("prod", nodes)).toBe(`pulumi up --stack prod --replace '${urn("nscd")}'`);
        expect(repairCommand("prod", [{ name: "n", seconds: 1, steps: [step({ status: "would change", urn: urn("rserver-conf") })] }])).toBeUndefined();
    });
});

describe("the exit code and summary", () => {
    const report = (steps: StepCheck[], error?: string): CheckReport => ({
        stack: "prod",
        nodes: [{ name: "node1 (10.0.0.5:22)", seconds: 1.25, steps, error }],
    });

    it("0 in sync, 2 for a change, drift or failed verification, 1 for a node not checked", () => {
        expect(exitCode(report([step({})]))).toBe(0);
        expect(exitCode(report([step({ status: "would change" })]))).toBe(2);
        expect(exitCode(report([step({ status: "drifted" })]))).toBe(2);
        expect(exitCode(report([step({ problems: ["rstudio-server is not active"] })]))).toBe(2);
        expect(exitCode(report([step({ warnings: ["issuer unreachable"] })]))).toBe(0);
        expect(exitCode(report([], "node1 (10.0.0.5:22): cannot connect over SSH"))).toBe(1);
    });

    it("counts every status in one line, and the text lists each step with what it found", () => {
        const r = report([
            step({ step: "preflight" }),
            step({ status: "drifted", notes: ["/etc/rstudio/rserver.conf would change:"], diff: "-a\n+b\n", urn: urn("rserver-conf") }),
            step({ step: "restart", warnings: ["no curl"], urn: urn("restart") }),
        ]);
        r.repair = repairCommand("prod", r.nodes);
        expect(summary(r)).toBe("prod: 1 node, 3 steps: 2 in sync, 0 would change, 1 drifted, 0 problems, 1 warning");
        expect(renderText(r)).toBe(
            [
                "node1 (10.0.0.5:22) (1.3 s)",
                "  preflight             in sync",
                "  rserver-conf          drifted",
                "      /etc/rstudio/rserver.conf would change:",
                "      -a",
                "      +b",
                "  restart               in sync",
                "      warning: no curl",
                "",
                "prod: 1 node, 3 steps: 2 in sync, 0 would change, 1 drifted, 0 problems, 1 warning",
                "To repair the drift (replaces the drifted steps; Workbench restarts at most once per node):",
                `  pulumi up --stack prod --replace '${urn("rserver-conf")}' --replace '${urn("restart")}'`,
                "",
            ].join("\n"),
        );
    });
});
