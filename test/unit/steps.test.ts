import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { scriptsBundle, stepCommand } from "../../host/commands";
import { canonicalScript, HOST_STEP_SPECS, HOST_STEPS, releaseDigest, scriptDigest, STEP_RELEASES, stepScript, stepScriptFile } from "../../host/steps";
import { planHostSteps, UNDO_ORDER } from "../../host/plan";

describe("the steps' releases (host/steps.ts)", () => {
    it("pin every step's script: a change of a script is a decision on its version", () => {
        const changed = HOST_STEPS.filter((step) => scriptDigest(step) !== STEP_RELEASES[step].script).map(
            (step) => `  "${step}": { version: ${STEP_RELEASES[step].version} (or ${STEP_RELEASES[step].version + 1}), script: "${scriptDigest(step)}" },`,
        );
        expect(
            changed,
            "These steps' scripts changed. If what a step does on a host changed, raise its version in host/steps.ts: the next " +
                "`up` runs it once on every host. If not (a refactoring, a new helper), keep its version: hosts run nothing. " +
                "Either way set its script to the digest below.\n",
        ).toEqual([]);
    });

    it("see through comments, blank lines and indentation, not through a change of code", () => {
        const script = "# a comment\nfoo() {\n  echo one\n}\n\n";
        expect(canonicalScript(script)).toBe(canonicalScript("foo() {\n    # reworded\n    echo one\n}\n"));
        expect(canonicalScript(script)).not.toBe(canonicalScript("foo() {\n  echo two\n}\n"));
    });

    it("name the scripts installed on a host after the step and its version", () => {
        expect(stepScriptFile("rserver-conf")).toBe(`rserver-conf-v${STEP_RELEASES["rserver-conf"].version}.sh`);
        expect(releaseDigest()).toMatch(/^[0-9a-f]{8}$/);
        const saved = STEP_RELEASES.nscd.version;
        try {
            const before = releaseDigest();
            const command = stepCommand("nscd", "apply", { WB_STACK: "prod" });
            STEP_RELEASES.nscd.version = saved + 1;
            // A new version of one step: a new set of scripts for the hosts, and that step's command changes.
            expect(releaseDigest()).not.toBe(before);
            expect(stepCommand("nscd", "apply", { WB_STACK: "prod" })).not.toBe(command);
        } finally {
            STEP_RELEASES.nscd.version = saved;
        }
    });

    it("bundle every step's whole script for install-scripts.sh, each one bash can parse", () => {
        const bundle = scriptsBundle();
        let rest = Buffer.from(bundle);
        const names: string[] = [];
        while (rest.length) {
            const newline = rest.indexOf("\n");
            const [kind, name, bytes] = rest.subarray(0, newline).toString().split(" ");
            expect(kind).toBe("file");
            const body = rest.subarray(newline + 1, newline + 1 + Number(bytes)).toString();
            const step = HOST_STEPS.find((s) => stepScriptFile(s) === name)!;
            expect(body, name).toBe(stepScript(step));
            execFileSync("bash", ["-n"], { input: body });
            names.push(name);
            rest = rest.subarray(newline + 1 + Number(bytes));
        }
        expect(names).toEqual(HOST_STEPS.map(stepScriptFile));
    });

    it("are one registry the plan follows: each step after what it names, the restart after every step that configures Workbench", () => {
        const restart = HOST_STEP_SPECS.restart.after;
        expect([...restart].sort()).toEqual(HOST_STEPS.filter((id) => HOST_STEP_SPECS[id].beforeRestart).sort());
        // A step that can leave a restart pending is one the restart follows.
        for (const id of HOST_STEPS) if (HOST_STEP_SPECS[id].marksRestart) expect(HOST_STEP_SPECS[id].beforeRestart, id).toBe(true);
        // Every step names only steps before it in the registry's order.
        for (const [i, id] of HOST_STEPS.entries())
            for (const dep of HOST_STEP_SPECS[id].after) expect(HOST_STEPS.indexOf(dep), `${id} after ${dep}`).toBeLessThan(i);
        for (const nodes of [1, 3]) {
            const plan = planHostSteps(nodes, true);
            const cluster = HOST_STEPS.filter((id) => HOST_STEP_SPECS[id].runsOn === "cluster").length;
            expect(plan).toHaveLength(cluster + (HOST_STEPS.length - cluster) * nodes);
            for (const step of plan)
                for (const dep of HOST_STEP_SPECS[step.id].after)
                    expect(
                        step.after.some((a) => a.id === dep),
                        `${step.node}/${step.id} after ${dep}`,
                    ).toBe(true);
        }
        expect(UNDO_ORDER).toEqual([...HOST_STEPS].reverse().slice(0, -1));
        expect(planHostSteps(1, false).map((s) => s.id)).not.toContain("scim-token");
    });
});
