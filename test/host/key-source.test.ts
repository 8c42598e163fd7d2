/**
 * Where Workbench takes its encryption key from, over real SSH against a sandbox Debian host: the
 * preflight stops, before anything is written, when rstudio-server's environment sets
 * WORKBENCH_ENCRYPTION_KEY (the key itself), RSTUDIO_CONFIG_DIR or XDG_CONFIG_DIRS/XDG_CONFIG_HOME (where
 * it looks for its key file): in the unit's Environment=, in a file its EnvironmentFile= names, or in
 * /etc/default/rstudio-server. The systemctl stand-in answers `show -p Environment|EnvironmentFiles`
 * from /var/lib/standin/systemctl-show/rstudio-server, as systemd prints them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, startSandbox } from "../sandbox/sandbox";
import { applyAll, hostValues } from "./driver";
import { expectUntouched, runStep, snapshot } from "./one-step";

const SHOW = "/var/lib/standin/systemctl-show/rstudio-server";
const ENV_FILE = "/etc/rstudio/workbench.env";
const DEFAULT = "/etc/default/rstudio-server";
const KEY_VALUE = "c2VjcmV0LWtleS1vZi10aGUtYWRtaW5pc3RyYXRvcg";
const UNIT = "the rstudio-server unit's Environment= (see 'systemctl cat rstudio-server')";
const KEY_FILE = "/var/lib/rstudio-server/secure-cookie-key";

describe("the preflight and where Workbench takes its encryption key from", () => {
    let sb: Sandbox;

    /** rstudio-server's environment: the unit's Environment= words, the EnvironmentFile= files and their content, /etc/default/rstudio-server. */
    async function environment({ unit = [], files = {}, etcDefault }: { unit?: string[]; files?: Record<string, string>; etcDefault?: string }) {
        const lines = [...(unit.length ? [`Environment=${unit.join(" ")}`] : []), ...Object.keys(files).map((f) => `EnvironmentFiles=${f} (ignore_errors=no)`)];
        await sb.writeFile(SHOW, lines.map((l) => `${l}\n`).join(""));
        await sb.exec(`rm -f ${ENV_FILE} ${DEFAULT}`);
        for (const [path, content] of Object.entries(files)) await sb.writeFile(path, content);
        if (etcDefault !== undefined) await sb.writeFile(DEFAULT, etcDefault);
    }

    async function refused(): Promise<string> {
        const before = await snapshot(sb);
        const result = await runStep(sb, "preflight", "apply");
        expect(result.code).toBe(1);
        expect(result.stdout).toBe("");
        await expectUntouched(sb, before);
        // The key's value is never shown.
        expect(result.stderr).not.toContain(KEY_VALUE);
        return result.stderr;
    }

    beforeAll(async () => {
        sb = await startSandbox();
    });
    afterAll(() => sb?.stop());

    it("the stand-in's systemctl answers show -p from its file, as systemd prints it", async () => {
        await environment({ unit: ["LANG=C.UTF-8"], files: { [ENV_FILE]: "" } });
        const r = await sb.exec("systemctl show rstudio-server -p Environment && systemctl show rstudio-server --property=EnvironmentFiles");
        expect(r.stdout).toBe(`Environment=LANG=C.UTF-8\nEnvironmentFiles=${ENV_FILE} (ignore_errors=no)\n`);
    });

    it("passes when none of the variables is set (others are, or they are empty or commented out)", async () => {
        await environment({
            unit: ["LANG=C.UTF-8", "RSTUDIO_WHICH_R=/opt/R/4.4.1/bin/R", '"NOTE=WORKBENCH_ENCRYPTION_KEY is not used here"'],
            files: { [ENV_FILE]: "# WORKBENCH_ENCRYPTION_KEY=old\nHTTP_PROXY=http://proxy:3128\nRSTUDIO_CONFIG_DIR=\n" },
            etcDefault: "; XDG_CONFIG_DIRS=/opt/xdg\nUMASK=022\n",
        });
        const result = await runStep(sb, "preflight", "apply");
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toBe("");
        expect(result.stdout).toMatch(/^os-family=debian\nsecure-cookie-key-sha256=[0-9a-f]{64}\n$/);
    });

    it("stops on WORKBENCH_ENCRYPTION_KEY in the unit's Environment=", async () => {
        await environment({ unit: ["LANG=C.UTF-8", `WORKBENCH_ENCRYPTION_KEY=${KEY_VALUE}`] });
        expect(await refused()).toBe(
            `preflight: ERROR: Workbench takes its encryption key from WORKBENCH_ENCRYPTION_KEY (set in ${UNIT}); ` +
                `this program encrypts with the key file ${KEY_FILE} and would write a client secret Workbench cannot decrypt: ` +
                `put that key in the key file instead (${KEY_FILE}; mode 0600, the same on every node), remove WORKBENCH_ENCRYPTION_KEY from ${UNIT}, ` +
                "restart Workbench, then run pulumi again. Nothing was changed\n",
        );
    });

    it("stops on RSTUDIO_CONFIG_DIR in a file the unit's EnvironmentFile= names", async () => {
        await environment({ files: { [ENV_FILE]: "HTTP_PROXY=http://proxy:3128\n  RSTUDIO_CONFIG_DIR = /srv/rstudio\n" } });
        const stderr = await refused();
        expect(stderr).toMatch(
            new RegExp(
                `^preflight: ERROR: Workbench takes its encryption key from a key file it finds through RSTUDIO_CONFIG_DIR \\(set in ${ENV_FILE}\\); ` +
                    `this program encrypts with the key file ${KEY_FILE} and would write a client secret Workbench cannot decrypt: .*remove RSTUDIO_CONFIG_DIR from ${ENV_FILE}`,
            ),
        );
    });

    it("stops on XDG_CONFIG_DIRS in /etc/default/rstudio-server", async () => {
        await environment({ etcDefault: "export XDG_CONFIG_DIRS=/opt/xdg\n" });
        expect(await refused()).toMatch(
            /^preflight: ERROR: Workbench takes its encryption key from a key file it finds through XDG_CONFIG_DIRS \(set in \/etc\/default\/rstudio-server\);/,
        );
    });

    it("stops on XDG_CONFIG_HOME quoted in the unit's Environment=, and names every variable set", async () => {
        await environment({ unit: ['"XDG_CONFIG_HOME=/srv/config home"'], files: { [ENV_FILE]: `WORKBENCH_ENCRYPTION_KEY="${KEY_VALUE}"\n` } });
        const stderr = await refused();
        expect(stderr).toMatch(/^preflight: ERROR: Workbench takes its encryption key from WORKBENCH_ENCRYPTION_KEY \(set in \/etc\/rstudio\/workbench.env\);/);
        expect(stderr).toContain(`; XDG_CONFIG_HOME is set too (in ${UNIT}). Nothing was changed\n`);
    });

    it("runs the whole stack once the variable is gone", async () => {
        await environment({ unit: ["LANG=C.UTF-8"] });
        await applyAll(sb, hostValues());
    });
});
