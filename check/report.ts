/**
 * What a check found, per node and step, and what to do about it: pure functions over the steps' check
 * output and the stack's state, so they are tested directly.
 *
 * A step is "in sync" when `apply` would change nothing on its host. Otherwise it "would change" when
 * its inputs differ from those the stack last applied (a configuration change not yet deployed, or a
 * step that never ran), and it has "drifted" when they are the same: the host changed under the stack,
 * and `pulumi up` will not notice (no input changed), so the repair is to replace the step.
 */
import { HOST_STEP_SPECS, HOST_STEPS, HostStep } from "../host/steps";
import type { CheckSection } from "./entra";

export type StepStatus = "in sync" | "would change" | "drifted";

export interface StepCheck {
    step: HostStep;
    /** The step's resource name in the stack, e.g. workbench-10-0-0-5-22-rserver-conf. */
    resource: string;
    status: StepStatus;
    /** What apply would do, or what was found. */
    notes: string[];
    /** A verification from the guide that fails (Workbench not active, health check not answering, ...). */
    problems: string[];
    /** What could not be verified (the issuer unreachable from the host, no curl). */
    warnings: string[];
    /** Unified diffs of the files apply would change (never of a file holding a secret). */
    diff: string;
    /** The step's URN when the stack's state has it. */
    urn?: string;
}

export interface NodeCheck {
    /** As the program names nodes: "node1 (10.0.0.5:22)". */
    name: string;
    steps: StepCheck[];
    /** Why the node could not be checked (unreachable, key mismatch, a step that failed). */
    error?: string;
    seconds: number;
}

export interface CheckReport {
    stack: string;
    nodes: NodeCheck[];
    /** The command that repairs every drifted step, when some did. */
    repair?: string;
    /** With SCIM: Entra ID's synchronization job and the SCIM endpoint's certificate (check/entra.ts). */
    sections?: CheckSection[];
}

/** A step's check output: note=/problem=/warning= lines, diff lines, and a final check=in-sync|would-change. */
export function parseCheckOutput(stdout: string): { wouldChange: boolean; notes: string[]; problems: string[]; warnings: string[]; diff: string } {
    const notes: string[] = [];
    const problems: string[] = [];
    const warnings: string[] = [];
    const diff: string[] = [];
    let verdict: string | undefined;
    for (const line of stdout.split("\n")) {
        const [, key, value] = /^(note|problem|warning|check)=(.*)$/.exec(line) ?? [];
        if (key === "note") notes.push(value);
        else if (key === "problem") problems.push(value);
        else if (key === "warning") warnings.push(value);
        else if (key === "check") verdict = value;
        else if (/^(--- |\+\+\+ |@@ |[ +-])/.test(line)) diff.push(line);
    }
    if (verdict !== "in-sync" && verdict !== "would-change") throw new Error(`the check printed no verdict (check=in-sync or check=would-change)`);
    return { wouldChange: verdict === "would-change", notes, problems, warnings, diff: diff.length ? `${diff.join("\n")}\n` : "" };
}

/** In sync, would change (inputs differ from the state's, or not in it), or drifted (same inputs, host changed). */
export function classify(wouldChange: boolean, sameInputsAsState: boolean): StepStatus {
    if (!wouldChange) return "in sync";
    return sameInputsAsState ? "drifted" : "would change";
}

/**
 * The steps whose `apply` marks Workbench for a restart: replacing one of them must replace its node's
 * restart step too, which otherwise would not run again (its inputs do not change).
 */
const RESTARTING = HOST_STEPS.filter((id) => HOST_STEP_SPECS[id].marksRestart);

/** `pulumi up --replace` of every drifted step (and the restart step of a node that needs one). */
export function repairCommand(stack: string, nodes: NodeCheck[]): string | undefined {
    const urns: string[] = [];
    for (const node of nodes) {
        const drifted = node.steps.filter((s) => s.status === "drifted" && s.urn);
        const restart = node.steps.find((s) => s.step === "restart");
        for (const step of drifted) urns.push(step.urn!);
        if (drifted.some((s) => RESTARTING.includes(s.step)) && restart?.urn && !urns.includes(restart.urn)) urns.push(restart.urn);
    }
    if (!urns.length) return undefined;
    return `pulumi up --stack ${stack} ${urns.map((u) => `--replace '${u}'`).join(" ")}`;
}

/** 0: every step in sync; 2: something would change, drifted or fails a verification; 1: a node could not be checked. */
export function exitCode(report: CheckReport): 0 | 1 | 2 {
    if (report.nodes.some((n) => n.error)) return 1;
    if (report.sections?.some((s) => s.status === "problem")) return 2;
    return report.nodes.some((n) => n.steps.some((s) => s.status !== "in sync" || s.problems.length)) ? 2 : 0;
}

export function summary(report: CheckReport): string {
    const steps = report.nodes.flatMap((n) => n.steps);
    const count = (status: StepStatus) => steps.filter((s) => s.status === status).length;
    const problems = steps.reduce((n, s) => n + s.problems.length, 0);
    const warnings = steps.reduce((n, s) => n + s.warnings.length, 0);
    const errors = report.nodes.filter((n) => n.error).length;
    return (
        `${report.stack}: ${report.nodes.length} node${report.nodes.length === 1 ? "" : "s"}, ${steps.length} steps: ` +
        `${count("in sync")} in sync, ${count("would change")} would change, ${count("drifted")} drifted, ${problems} problem${problems === 1 ? "" : "s"}, ` +
        `${warnings} warning${warnings === 1 ? "" : "s"}${errors ? `, ${errors} node${errors === 1 ? "" : "s"} not checked` : ""}`
    );
}

/** The report for people: per node, per step, its status, then what was found and the diffs. */
export function renderText(report: CheckReport): string {
    const out: string[] = [];
    for (const node of report.nodes) {
        out.push(`${node.name}${node.error ? "" : ` (${node.seconds.toFixed(1)} s)`}`);
        if (node.error) out.push(`  error: ${node.error}`);
        for (const step of node.steps) {
            out.push(`  ${step.step.padEnd(22)}${step.status}`);
            for (const note of step.notes) out.push(`      ${note}`);
            for (const problem of step.problems) out.push(`      problem: ${problem}`);
            for (const warning of step.warnings) out.push(`      warning: ${warning}`);
            if (step.diff)
                out.push(
                    ...step.diff
                        .trimEnd()
                        .split("\n")
                        .map((line) => `      ${line}`),
                );
        }
    }
    for (const section of report.sections ?? []) {
        out.push(`${section.name} (${section.status})`, ...section.lines.map((line) => `  ${line}`));
    }
    out.push("", summary(report));
    if (report.repair) out.push(`To repair the drift (replaces the drifted steps; Workbench restarts at most once per node):`, `  ${report.repair}`);
    else if (report.nodes.some((n) => n.steps.some((s) => s.status === "would change"))) out.push("`pulumi up` applies what would change.");
    return `${out.join("\n")}\n`;
}
