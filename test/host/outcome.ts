/**
 * What the guide's host changes are for, asked of the real glibc and Linux-PAM in a sandbox: users that
 * Workbench's NSS module serves resolve (the sandbox's libnss_pwb.so.2 is a real module serving the files
 * /var/lib/standin/nss/pwb.*, as Workbench's user service serves provisioned users; libnss_sss.so.2 one
 * serving /var/lib/standin/nss/sss.*, standing in for SSSD), PAM opens their sessions, and the admin who
 * runs the program can still log in.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { CLIENT_SECRET } from "./driver";
import { runStep } from "./one-step";
import { Sandbox, sshRun } from "../sandbox/sandbox";
import { planHostSteps } from "../../host/plan";
import type { HostStep } from "../../host/commands";

export interface NssUser {
    name: string;
    uid: number;
    gid: number;
    home: string;
}

export const passwdLine = (u: NssUser, gecos = "Workbench user") => `${u.name}:x:${u.uid}:${u.gid}:${gecos}:${u.home}:/bin/bash`;

/** Adds users to a module's files (and groups): "pwb" is Workbench's module, "sss" SSSD's stand-in. */
export async function serve(sb: Sandbox, module: "pwb" | "sss", users: NssUser[], groups: Array<{ name: string; gid: number; members?: string[] }> = []) {
    const append = async (db: string, umask: string, lines: string[]) => {
        const r = await sb.exec(
            `umask ${umask} && mkdir -p /var/lib/standin/nss && cat >> /var/lib/standin/nss/${module}.${db}`,
            lines.map((l) => `${l}\n`).join(""),
        );
        expect(r.code, r.stderr).toBe(0);
    };
    await append(
        "passwd",
        "022",
        users.map((u) => passwdLine(u, module === "pwb" ? "Workbench user" : "SSSD user")),
    );
    await append(
        "group",
        "022",
        groups.map((g) => `${g.name}:x:${g.gid}:${(g.members ?? []).join(",")}`),
    );
    await append(
        "shadow",
        "077",
        users.map((u) => `${u.name}:!:20000:0:99999:7:::`),
    );
}

/** getent's line for a key (empty when not found) and its exit code. */
export async function getent(sb: Sandbox, db: "passwd" | "group" | "shadow", key: string, service?: string) {
    const r = await sb.exec(`getent ${service ? `-s ${service} ` : ""}${db} ${key}`);
    return { code: r.code, line: r.stdout.trim() };
}

/**
 * A new SSH login of the admin user (sshd runs with UsePAM yes: its account and session stacks run for
 * every connection) and passwordless sudo through PAM. `when` names the moment in the failure message.
 */
export async function expectAdminCanLogIn(sb: Sandbox, when: string) {
    const r = await sshRun(sb, "sudo -n true && echo logged-in-and-sudo-works");
    // sshd's own log (its -e output, kept beside the sandbox) says which PAM module or stack failed.
    const log = r.code === 0 ? "" : (await readFile(join(sb.dir, "sshd.log"), "utf8")).split("\n").slice(-6).join("\n");
    expect(
        `${r.code} ${r.stdout.trim()}`,
        `LOCKED OUT after ${when}: a new SSH login of admin with 'sudo -n true' failed (${r.code}): ${r.stderr.trim()}\nsshd.log:\n${log}`,
    ).toBe("0 logged-in-and-sudo-works");
}

/** sshd's effective UsePAM, as `sshd -T` prints it. */
export async function sshdUsePam(sb: Sandbox): Promise<string> {
    return (await sb.exec("/usr/sbin/sshd -T -o HostKey=/etc/ssh/ssh_host_ed25519_key | grep -i '^usepam '")).stdout.trim();
}

/** The steps of a one-node JIT stack, in the order an `up` may run them one after another. */
export const STEPS_IN_ORDER: HostStep[] = planHostSteps(1, false).map((s) => s.id);

/** Applies the steps one at a time (all, or `steps`), with the stdin the program gives each, calling `after` once each step is applied. */
export async function applyOneByOne(sb: Sandbox, after: (step: HostStep) => Promise<void> = async () => {}, steps: HostStep[] = STEPS_IN_ORDER) {
    let encrypted = "";
    for (const step of steps) {
        const input =
            step === "encrypt-client-secret"
                ? `${CLIENT_SECRET}\n`
                : step === "client-secret"
                  ? `${encrypted}\n`
                  : step === "restart"
                    ? "digest-of-the-node's-other-steps\n"
                    : "";
        const r = await runStep(sb, step, "apply", {}, input);
        expect(r.code, `${step} apply: ${r.stderr}`).toBe(0);
        if (step === "encrypt-client-secret") encrypted = r.stdout;
        await after(step);
    }
}

/** Removes the steps one at a time, the reverse of the plan (as `destroy` does), calling `after` once each is removed. */
export async function removeOneByOne(sb: Sandbox, after: (step: HostStep) => Promise<void> = async () => {}) {
    for (const step of [...STEPS_IN_ORDER].reverse()) {
        const r = await runStep(sb, step, "remove");
        expect(r.code, `${step} remove: ${r.stderr}`).toBe(0);
        await after(step);
    }
}
