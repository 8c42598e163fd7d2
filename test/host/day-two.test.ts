/**
 * Day two on a host, over real SSH: the scripts installed once and run by short commands, an update with
 * nothing changed (a new SSH key, a release that keeps every step's effect) that changes nothing and keeps
 * the SCIM token, the token kept, rotated and found in Posit's documented `list-tokens` table, its expiry
 * from what the stack recorded, and no secret in clear in any file the steps write.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeOwner, scimTokenName, stepEnv, stepStdin } from "../../host/plan";
import { installedScript, removeScriptsCommand, stepCommand } from "../../host/commands";
import { parseCheckOutput } from "../../check/report";
import { Sandbox, sshRun, startSandbox } from "../sandbox/sandbox";
import {
    applyAll,
    CLIENT_SECRET,
    fingerprints,
    hostValues,
    installScripts,
    MANAGED_FILES,
    removeAll,
    resultOf,
    StackValues,
    systemctlCalls,
    tokenRows,
} from "./driver";

const STACK = "hosttest";
const TOKEN_NAME = scimTokenName(STACK);

/** Every file under the program's state folder and /etc/rstudio, with its hash and mode: what a run wrote. */
const written = async (sb: Sandbox) =>
    (
        await sb.exec(
            "find /var/lib/posit-workbench-entra /etc/rstudio /etc/pam.d/common-session /etc/nsswitch.conf /etc/nscd.conf -type f -exec sha256sum {} + | sort",
        )
    ).stdout;

const tokenOf = (run: Awaited<ReturnType<typeof applyAll>>) => resultOf(run, "scim-token")!.stdout;

/** The token step's check on the first node, parsed. */
async function checkToken(sb: Sandbox, values: StackValues) {
    const env = stepEnv("scim-token", values, "");
    const keyHash = (await sb.exec("sha256sum /var/lib/rstudio-server/secure-cookie-key | cut -d' ' -f1")).stdout.trim();
    const result = await sshRun(
        sb,
        stepCommand("scim-token", "check", env as typeof env & { WB_STACK: string }),
        stepStdin("scim-token", keyHash, "preflight-of-node-0"),
    );
    expect(result.code, result.stderr).toBe(0);
    return parseCheckOutput(result.stdout);
}

describe("a SCIM host run by its installed scripts", () => {
    let sb: Sandbox;
    const values = hostValues({ provisioning: "scim" });
    let token = "";
    let afterApply = "";

    beforeAll(async () => {
        sb = await startSandbox();
        const installed = await installScripts(sb, STACK);
        expect(installed[0].code, installed[0].stderr).toBe(0);
        const run = await applyAll(sb, values, CLIENT_SECRET, { installed: true });
        token = tokenOf(run);
        afterApply = await written(sb);
    });
    afterAll(() => sb?.stop());

    it("installs one root-only script per step and version, and runs them by path", async () => {
        const listing = (await sb.exec(`stat -c '%a %U %n' /var/lib/posit-workbench-entra/scripts/${STACK} /var/lib/posit-workbench-entra/scripts/${STACK}/*`))
            .stdout;
        expect(listing).toContain(`700 root /var/lib/posit-workbench-entra/scripts/${STACK}\n`);
        expect(listing).toContain(`root ${installedScript(STACK, "rserver-conf")}`);
        expect(
            listing
                .split("\n")
                .filter((l) => l.endsWith(".sh"))
                .every((l) => l.startsWith("600 root")),
        ).toBe(true);
        expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    });

    it("an update given the same inputs changes nothing: no file, no service call, the same token", async () => {
        await sb.exec(": > /var/log/standin/systemctl.log");
        const before = await sb.exec("wc -l < /var/log/sudo.log");
        const run = await applyAll(sb, values, CLIENT_SECRET, { action: "update", installed: true });
        expect(await written(sb)).toBe(afterApply);
        expect(await systemctlCalls(sb)).toEqual([]);
        expect(tokenOf(run)).toBe(token);
        expect(await tokenRows(sb)).toHaveLength(1);
        for (const id of ["client-secret", "rserver-conf", "home-directories", "nss", "nscd", "restart"] as const)
            expect(resultOf(run, id)!.stdout.trim(), id).toBe(`${id}=unchanged`);
        expect(resultOf(run, "preflight")!.stdout.trim()).toMatch(/^os-family=debian\nsecure-cookie-key-sha256=[0-9a-f]{64}$/);
        for (const [id, r] of run.results) expect(r.stderr, id).toMatch(/nothing it was given changed since it applied here: left as it is/);
        // One sudo command a step, each only reading (and the preflight's `sudo -n true`).
        const sudo = Number((await sb.exec("wc -l < /var/log/sudo.log")).stdout) - Number(before.stdout);
        expect(sudo).toBe(run.sshCommands + 1);
    });

    it("an update with a changed value applies it", async () => {
        const changed = hostValues({ provisioning: "scim", startUid: 5000 });
        const run = await applyAll(sb, changed, CLIENT_SECRET, { action: "update", installed: true });
        expect(resultOf(run, "rserver-conf")!.stdout.trim()).toBe("rserver.conf=changed");
        expect(await sb.readFile("/etc/rstudio/rserver.conf")).toContain("user-provisioning-start-uid=5000");
        expect(resultOf(run, "restart")!.stdout).toContain("restart=done");
        expect(tokenOf(run)).toBe(token);
        // And back, for the tests after this one.
        await applyAll(sb, values, CLIENT_SECRET, { action: "update", installed: true });
        afterApply = await written(sb);
    });

    it("apply again (a create after a lost result) keeps the token; a new rotation replaces it and revokes the old one", async () => {
        const again = await applyAll(sb, values, CLIENT_SECRET, { installed: true });
        expect(tokenOf(again)).toBe(token);
        const rotated = await applyAll(sb, { ...values, scimTokenRotation: "2027-06-01T00:00:00Z" }, CLIENT_SECRET, { action: "update", installed: true });
        expect(tokenOf(rotated)).not.toBe(token);
        expect(await tokenRows(sb)).toHaveLength(1);
        const stored = JSON.parse(await sb.readFile("/var/lib/rstudio-server/standin-tokens.json")) as Record<string, { sha256: string }>;
        const { createHash } = await import("node:crypto");
        expect(stored[TOKEN_NAME].sha256).toBe(createHash("sha256").update(tokenOf(rotated)).digest("hex"));
        token = tokenOf(rotated);
        values.scimTokenRotation = "2027-06-01T00:00:00Z";
    });

    it("keeps the token when list-tokens cuts its name, and not for a row cut to the guide's own token name", async () => {
        await sb.exec("mkdir -p /var/lib/standin && echo 40 > /var/lib/standin/token-name-width");
        expect((await tokenRows(sb))[0]).toMatch(/^Entra ID User Provisioning Token \(pul\.\.\. /);
        const cut = await applyAll(sb, values, CLIENT_SECRET, { installed: true });
        expect(tokenOf(cut)).toBe(token);
        expect((await checkToken(sb, values)).notes).toContain(
            "Workbench lists the SCIM token's name cut short; a row starting with its first part is taken as this token",
        );
        // Cut to the guide's name (a token an admin made by hand could look the same): not taken as ours.
        await sb.exec("echo 35 > /var/lib/standin/token-name-width");
        expect((await checkToken(sb, values)).wouldChange).toBe(true);
        await sb.exec("rm /var/lib/standin/token-name-width");
    });

    it("check: the expiry from what the stack recorded; a warning from when the stack would rotate it, a problem once expired (and apply replaces it)", async () => {
        const record = `/var/lib/posit-workbench-entra/steps/${STACK}/scim-token.made`;
        const made = (await sb.readFile(record)).split("\n");
        expect(made.slice(0, 3)).toEqual([`name=${TOKEN_NAME}`, "days=30", "rotation=2027-06-01T00:00:00Z"]);
        const created = /^created=(\d{4}-\d\d-\d\d)T/.exec(made[3])![1];
        const day = (base: string, days: number) => new Date(Date.parse(`${base}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
        // A 30-day token made today: rotated after 15 days, so no warning yet.
        const fresh = await checkToken(sb, values);
        expect(fresh.warnings).toEqual([]);
        expect(fresh.notes).toEqual([expect.stringMatching(new RegExp(`is listed; it expires on ${day(created, 30)}, in (29|30) days`))]);
        // A token made today for 365 days (the default): not expired, a year from now.
        const year = { ...values, scimTokenDays: 365 };
        const made365 = await applyAll(sb, year, CLIENT_SECRET, { action: "update", installed: true });
        token = tokenOf(made365);
        const later = await checkToken(sb, year);
        expect(later.warnings).toEqual([]);
        expect(later.notes).toEqual([expect.stringMatching(new RegExp(`is listed; it expires on ${day(created, 365)}, in (364|365) days`))]);
        // The same token as if made 340 days ago: 25 days left, inside the 30 days in which the stack rotates it.
        const today = new Date().toISOString().slice(0, 10);
        const setMade = (date: string) => sb.exec(`sed -i 's/^created=.*/created=${date}T00:00:00Z/' ${record}`);
        await setMade(day(today, -340));
        const soon = await checkToken(sb, year);
        expect(soon.wouldChange).toBe(false);
        expect(soon.warnings).toEqual([
            expect.stringMatching(
                new RegExp(`expires on ${day(today, 25)}, in 25 days \\(made on ${day(today, -340)}T00:00:00Z for 365 days\\): rotate it before then`),
            ),
        ]);
        // Made 366 days ago: expired yesterday. A problem, and apply makes a new one.
        await setMade(day(today, -366));
        const expired = await checkToken(sb, year);
        expect(expired.problems).toEqual([
            expect.stringMatching(new RegExp(`expired on ${day(today, -1)} .*Entra ID can no longer provision or deprovision users`)),
        ]);
        expect(expired.wouldChange).toBe(true);
        const renewed = await applyAll(sb, year, CLIENT_SECRET, { action: "update", installed: true });
        expect(tokenOf(renewed)).not.toBe(token);
        token = tokenOf(renewed);
        expect((await checkToken(sb, year)).problems).toEqual([]);
        values.scimTokenDays = 365;
    });

    it("writes neither the client secret nor the token in clear to any file while they are on the host", async () => {
        // The files the steps write and keep, the scripts and the records included, searched while applied.
        const found = await sb.exec(
            `grep -rlF -e ${JSON.stringify(CLIENT_SECRET)} -e ${JSON.stringify(token)} /var/lib/posit-workbench-entra /etc /var/lib/rstudio-server /tmp /var/tmp /root /home || true`,
        );
        expect(found.stdout).toBe("");
        expect(await sb.exec(`test -s /var/lib/posit-workbench-entra/steps/${STACK}/scim-token.sealed && echo sealed`)).toMatchObject({ stdout: "sealed\n" });
    });

    it("names the way out when the installed scripts are gone", async () => {
        await sb.exec(`mv /var/lib/posit-workbench-entra/scripts /var/lib/posit-workbench-entra/scripts.away`);
        const env = stepEnv("nscd", values, "");
        const r = await sshRun(sb, stepCommand("nscd", "apply", env as typeof env & { WB_STACK: string }), "");
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(`nscd: ${installedScript(STACK, "nscd")} is missing on this host`);
        expect(r.stderr).toContain("pulumi up --replace");
        await sb.exec(`mv /var/lib/posit-workbench-entra/scripts.away /var/lib/posit-workbench-entra/scripts`);
    });

    it("destroy by the installed scripts restores the host, revokes the token and removes the scripts", async () => {
        await removeAll(sb, values, { installed: true });
        expect(await tokenRows(sb)).toEqual([]);
        // The preflight's remove leaves the scripts (it may be a replacement); the node's removal resource goes last.
        expect(
            (await sb.exec("find /var/lib/posit-workbench-entra -type f")).stdout
                .split("\n")
                .filter(Boolean)
                .every((f) => f.startsWith(`/var/lib/posit-workbench-entra/scripts/${STACK}/`)),
        ).toBe(true);
        const removed = await sshRun(sb, removeScriptsCommand(STACK, nodeOwner(STACK, { address: sb.host, port: sb.port })));
        expect(removed.code, removed.stderr).toBe(0);
        expect((await sb.exec("test -e /var/lib/posit-workbench-entra && find /var/lib/posit-workbench-entra || echo gone")).stdout).toBe("gone\n");
    });
});

describe("install-scripts", () => {
    let sb: Sandbox;
    beforeAll(async () => {
        sb = await startSandbox();
    });
    afterAll(() => sb?.stop());

    it("refuses what is not a script bundle, and a script cut short, installing nothing", async () => {
        const { installScriptsCommand } = await import("../../host/commands");
        const garbage = await sshRun(sb, installScriptsCommand(STACK), "rm -rf /\n");
        expect(garbage.code).not.toBe(0);
        expect(garbage.stderr).toContain("unexpected line on stdin");
        const short = await sshRun(sb, installScriptsCommand(STACK), "file nss-v1.sh 100\necho hi\n");
        expect(short.stderr).toContain("nss-v1.sh arrived cut short");
        expect((await sb.exec(`ls /var/lib/posit-workbench-entra/scripts/${STACK}`)).stdout).toBe("");
    });

    it("keeps unchanged the files of a host it never touched", async () => {
        const before = await fingerprints(sb, MANAGED_FILES);
        await installScripts(sb, STACK);
        expect(await fingerprints(sb, MANAGED_FILES)).toEqual(before);
    });
});
