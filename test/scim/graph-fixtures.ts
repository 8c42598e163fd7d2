/**
 * Microsoft Graph responses for the check's read of a SCIM synchronization job, taken from the response
 * examples and JSON representations on Microsoft's Graph reference pages (v1.0):
 *
 * - "Get synchronizationJob" (https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-get),
 *   its response example: EXAMPLE_JOB below, as printed there ("might be shortened for readability"): a paused
 *   "BoxOutDelta" job whose quarantine carries an error and empty dates.
 * - "synchronizationStatus resource type" (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationstatus):
 *   code is one of NotConfigured, NotRun, Active, Paused, Quarantine; lastExecution, lastSuccessfulExecution.
 * - "synchronizationQuarantine resource type" (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationquarantine):
 *   currentBegan, nextAttempt, reason (EncounteredBaseEscrowThreshold, EncounteredTotalEscrowThreshold,
 *   EncounteredEscrowProportionThreshold, EncounteredQuarantineException, Unknown, QuarantinedOnDemand,
 *   TooManyDeletes, IngestionInterrupted), seriesBegan, seriesCount, error.
 * - "synchronizationTaskExecution resource type" (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationtaskexecution):
 *   activityIdentifier, countEntitled, countEscrowed, countExported, countImported, ..., error, state (Succeeded,
 *   Failed, EntryLevelErrors), timeBegan, timeEnded.
 * - The secrets: the pairs of "synchronizationSecretKeyStringValuePair resource type"
 *   (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationsecretkeystringvaluepair),
 *   read with GET .../synchronization/secrets as Microsoft's "How to programmatically configure cloud sync using
 *   MS Graph API" (https://learn.microsoft.com/en-us/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph)
 *   shows, whose SyncNotificationSettings example is {"Enabled":true,"Recipients":"foobar@xyz.com",
 *   "DeleteThresholdEnabled":true,"DeleteThresholdValue":50}. The token's value comes back as "*" (ASSUMED,
 *   as test/graph/entra.ts: terraform-provider-azuread expects it so).
 *
 * The other jobs are the example with its status set to the documented values; the times are relative to NOW.
 */
export const NOW = new Date("2026-12-07T06:00:00Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString().replace(/\.000Z$/, "Z");

/** The response example of "Get synchronizationJob", verbatim but for the id. */
export const EXAMPLE_JOB = {
    id: "scim.0b4a7c1e5f8d4e2b9c3a6d7e8f9a0b1c.8adf8e6e67b24cf2a259e3dc5476c621",
    templateId: "BoxOutDelta",
    schedule: { expiration: null, interval: "P10675199DT2H48M5.4775807S", state: "Disabled" },
    status: {
        countSuccessiveCompleteFailures: 0,
        escrowsPruned: false,
        synchronizedEntryCountByType: [],
        code: "Paused",
        lastExecution: null,
        lastSuccessfulExecution: null,
        progress: [],
        lastSuccessfulExecutionWithExports: null,
        steadyStateFirstAchievedTime: "0001-01-01T00:00:00Z",
        steadyStateLastAchievedTime: "0001-01-01T00:00:00Z",
        quarantine: {
            currentBegan: "",
            nextAttempt: "",
            reason: "",
            seriesBegan: "",
            seriesCount: 2,
            error: {
                code: "SalesforceInvalidCredentials",
                message:
                    "Your Salesforce.com credentials are invalid.  Please obtain a current Salesforce.com administrative user name, password and security token, and enter those in the screen for configuring user provisioning",
                tenantActionable: true,
            },
        },
        troubleshootingUrl: null,
    },
    synchronizationJobSettings: [{ name: "QuarantineTooManyDeletesThreshold", value: "500" }],
};

/** A synchronizationTaskExecution (its documented properties). */
const run = (state: "Succeeded" | "Failed" | "EntryLevelErrors", endedHoursAgo: number, extra: Record<string, unknown> = {}) => ({
    activityIdentifier: `run-${state}-${endedHoursAgo}`,
    countEntitled: 12,
    countEntitledForProvisioning: 12,
    countEscrowed: 0,
    countEscrowedRaw: 0,
    countExported: 3,
    countExports: 3,
    countImported: 12,
    countImportedDeltas: 3,
    countImportedReferenceDeltas: 0,
    error: null,
    state,
    timeBegan: hoursAgo(endedHoursAgo + 0.1),
    timeEnded: hoursAgo(endedHoursAgo),
    ...extra,
});

const job = (status: Record<string, unknown>) => ({
    ...EXAMPLE_JOB,
    templateId: "scim",
    schedule: { expiration: null, interval: "PT40M", state: "Active" },
    status: { ...EXAMPLE_JOB.status, quarantine: null, ...status },
});

export const ACTIVE_JOB = job({
    code: "Active",
    lastExecution: run("Succeeded", 0.5),
    lastSuccessfulExecution: run("Succeeded", 0.5),
    lastSuccessfulExecutionWithExports: run("Succeeded", 0.5),
});

const scimError = {
    code: "SystemForCrossDomainIdentityManagementServiceIncompatible",
    message: "An HTTP/404 Not Found error occurred while reaching https://workbench.example.com/scim/v2/Users.",
    tenantActionable: true,
};

export const QUARANTINED_JOB = job({
    code: "Quarantine",
    countSuccessiveCompleteFailures: 7,
    lastExecution: run("Failed", 1, { countExported: 0, error: scimError }),
    lastSuccessfulExecution: run("Succeeded", 72),
    quarantine: {
        currentBegan: hoursAgo(2),
        nextAttempt: hoursAgo(-10),
        reason: "EncounteredQuarantineException",
        seriesBegan: hoursAgo(50),
        seriesCount: 3,
        error: scimError,
    },
});

export const FAILED_JOB = job({
    code: "Active",
    countSuccessiveCompleteFailures: 2,
    lastExecution: run("Failed", 0.5, {
        countExported: 0,
        error: {
            code: "SystemForCrossDomainIdentityManagementServiceUnauthorized",
            message: "The SCIM endpoint answered 401 Unauthorized: check the secret token.",
            tenantActionable: true,
        },
    }),
    lastSuccessfulExecution: run("Succeeded", 3),
});

export const STALE_JOB = job({
    code: "Active",
    lastExecution: run("EntryLevelErrors", 1, { countEscrowed: 2 }),
    lastSuccessfulExecution: run("Succeeded", 30),
});

/** GET .../synchronization/secrets; SyncNotificationSettings as the cloud-sync page's example, with our email. */
export const secretsWith = (notification?: Record<string, unknown>) => ({
    value: [
        { key: "BaseAddress", value: "https://workbench.example.com/scim/v2" },
        { key: "SecretToken", value: "*" },
        { key: "SyncAll", value: "false" },
        ...(notification ? [{ key: "SyncNotificationSettings", value: JSON.stringify(notification) }] : []),
    ],
});
