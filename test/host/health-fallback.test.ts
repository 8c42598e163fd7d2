/**
 * The restart step on a Workbench that does not serve /health-check (Posit documents the health check for
 * the Enhanced and Advanced licences; whether a Basic licence serves it is undocumented), over real SSH
 * against a sandbox Debian host whose stand-in answers 404 there (/var/lib/standin/no-health-check): the
 * step then takes the sign-in page answering and systemd reporting the services active instead
 * ("health=sign-in-page"), and still fails, with the message it has always given, when Workbench does
 * not come up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, countSequence, hostValues, RESTART_SEQUENCE, resultOf, systemctlCalls } from "./driver";
import { runStep } from "./one-step";

describe("a Workbench that does not serve its health check", () => {
    let sb: Sandbox;
    const status = async (path: string) => (await sb.exec(`curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${sb.workbenchPort}${path}`)).stdout;
    const notAnswered = (seconds: number) =>
        `restart: ERROR: Workbench did not answer http://127.0.0.1:${sb.workbenchPort}/health-check within ${seconds}s ` +
        "(is server-health-check-enabled=1 accepted and the server running? see 'systemctl status rstudio-server')\n";
    /** The restart step alone, as the stack runs it after a change (or with nothing pending). */
    const restart = (env: Record<string, string> = {}) => runStep(sb, "restart", "apply", env, "digest-of-the-node's-other-steps\n");

    beforeAll(async () => {
        sb = await startSandbox();
        await sb.exec("touch /var/lib/standin/no-health-check && : > /var/log/standin/systemctl.log");
    });
    afterAll(() => sb?.stop());

    it("restarts once and passes on the sign-in page and systemd", async () => {
        const run = await applyAll(sb, hostValues());
        expect(resultOf(run, "restart")?.stdout).toBe("restart=done\nhealth=sign-in-page\n");
        expect(resultOf(run, "restart")?.stderr).toContain("restart: Workbench does not serve its health check");
        expect(countSequence(await systemctlCalls(sb), RESTART_SEQUENCE)).toBe(1);
        // The health check is on in rserver.conf, and still not served: the fallback was needed.
        expect(await sb.readFile("/etc/rstudio/rserver.conf")).toContain("server-health-check-enabled=1\n");
        expect(await status("/health-check")).toBe("404");
        expect(await status("/auth-sign-in")).toBe("200");
    });

    it("reports the same in the restart step's check, with no problem", async () => {
        const check = await runStep(sb, "restart", "check");
        expect(check.code, check.stderr).toBe(0);
        expect(check.stdout).toContain("note=Workbench does not serve its health check (a licence without it?); its sign-in page answers:");
        expect(check.stdout).not.toContain("problem=");
    });

    it("does not take the sign-in page alone when systemd reports rstudio-launcher inactive", async () => {
        await sb.exec("systemctl stop rstudio-launcher");
        const result = await restart({ WB_HEALTH_TIMEOUT: "3" });
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(`restart: nothing Workbench reads changed; no restart\n${notAnswered(3)}`);
        const check = await runStep(sb, "restart", "check");
        expect(check.stdout).toContain("but systemd reports rstudio-launcher not active");
        await sb.exec("systemctl start rstudio-launcher");
    });

    it("does not take a server on the port that systemd does not report as rstudio-server", async () => {
        // The server answers, but its unit is not active (systemd lost it: the pid file is gone).
        await sb.exec("mv /run/rstudio-server.pid /run/rstudio-server.pid.away");
        const result = await restart({ WB_HEALTH_TIMEOUT: "3" });
        await sb.exec("mv /run/rstudio-server.pid.away /run/rstudio-server.pid");
        expect(await status("/auth-sign-in")).toBe("200");
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(`restart: nothing Workbench reads changed; no restart\n${notAnswered(3)}`);
    });

    it("fails as before when rserver does not start", async () => {
        await sb.exec("touch /etc/rstudio/.standin-refuse-start /var/lib/posit-workbench-entra/restart-pending");
        const result = await restart();
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/^restart: ERROR: rstudio-server did not start: .*standin: configured to refuse start\n$/s);
        expect((await sb.exec("systemctl is-active rstudio-server")).stdout).toBe("inactive\n");
    });

    it("fails as before when Workbench is not running at all", async () => {
        // rserver stays down (still refusing to start); nothing is pending, so the step only waits.
        await sb.exec("rm -f /var/lib/posit-workbench-entra/restart-pending");
        const result = await restart({ WB_HEALTH_TIMEOUT: "3" });
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(`restart: nothing Workbench reads changed; no restart\n${notAnswered(3)}`);
        const check = await runStep(sb, "restart", "check");
        expect(check.stdout).toContain(`problem=Workbench does not answer http://127.0.0.1:${sb.workbenchPort}/health-check (`);
    });

    it("passes on the sign-in page again once rserver starts", async () => {
        await sb.exec("rm /etc/rstudio/.standin-refuse-start && touch /var/lib/posit-workbench-entra/restart-pending");
        const result = await restart();
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toBe("restart=done\nhealth=sign-in-page\n");
    });
});
