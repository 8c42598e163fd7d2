/**
 * At `pulumi up`, before Entra ID's provisioning job is created or updated: the SCIM endpoint's certificate as
 * Entra ID would see it (check/endpoint.ts). Posit's "Configure Entra ID with OpenID Connect"
 * (https://docs.posit.co/ide/server-pro/admin/quick-starts/entraid-openid.html): "Self-signed certificates are
 * not supported for SCIM". A job pointed at such an endpoint only fails inside Entra ID's provisioning logs,
 * then goes into quarantine; so a certificate that is self-signed, expired, for another name or not publicly
 * trusted stops the deployment here, unless allowUntrustedScimCertificate is true. An endpoint this machine
 * cannot reach is a warning only (the machine running pulumi is not Entra ID).
 *
 * Not at preview: a preview must work before the host is configured (and in CI, from runners that cannot
 * reach it), and it only shows what `up` would do. The job waits for this check through its templateId, an
 * output that resolves to the same value once the check passed (so the diff is unchanged), at preview at once.
 */
import { UserError } from "../errors";
import { probeScimEndpoint, ProbeOptions } from "../check/endpoint";
import { optionsFromEnv } from "../check/entra";

export interface GateOptions {
    dryRun: boolean;
    allowUntrusted: boolean;
    warn: (message: string) => void;
    probe?: ProbeOptions;
}

export async function scimCertificateGate(baseAddress: string, options: GateOptions): Promise<void> {
    if (options.dryRun) return;
    // WORKBENCH_CHECK_SCIM_CONNECT_TO: test-only, as for npm run check (docs/check.md).
    const probe = await probeScimEndpoint(baseAddress, options.probe ?? optionsFromEnv(process.env).probe);
    if (probe.status === "warning") options.warn(`SCIM endpoint: ${probe.lines.join("; ")}`);
    if (probe.status !== "problem") return;
    if (options.allowUntrusted) {
        options.warn(`SCIM endpoint: ${probe.lines.join("; ")} (allowUntrustedScimCertificate is true: the provisioning job is created anyway)`);
        return;
    }
    throw new UserError(
        `${probe.lines.join("\n")}\nThe provisioning job was not created or changed. Give https://<hostname> a publicly trusted certificate for that name, ` +
            `or set posit-workbench-entra:allowUntrustedScimCertificate to true to go on anyway (Entra ID will still refuse the endpoint).`,
    );
}
