/**
 * Every operation of the contract bound to its handler. This object is checked against the
 * contract by ts-rest: leaving out an operation, or returning a status or body the spec does not
 * declare for it, is a compile error (see test/contract-enforcement.test.ts).
 *
 * File names, the same in every area folder (access/, agent/, fleet/, ...):
 * - `<resource>-handlers.ts` binds the operations of one contract group (`<group>Handlers`), or a
 *   part of one that its group's handlers spread in (`...Routes`, e.g. device-insights-handlers.ts);
 * - `<resource>-store.ts` holds the queries and row-to-API mappings its handlers share;
 * - anything else is domain logic named for what it is (passwords.ts, presence.ts, sweeps.ts).
 */
import { initServer } from '@ts-rest/express';
import { apiTokensHandlers } from './access/api-tokens-handlers';
import { identityProvidersHandlers } from './access/identity-providers-handlers';
import { agentHandlers } from './agent/agent-handlers';
import { usersHandlers } from './access/users-handlers';
import { rolesHandlers } from './access/roles-handlers';
import { authHandlers } from './auth/auth-handlers';
import { mfaHandlers } from './auth/mfa-handlers';
import { passkeysHandlers } from './auth/passkeys-handlers';
import type { AppContext } from './context';
import { customFieldsHandlers } from './fleet/custom-fields-handlers';
import { deviceViewsHandlers } from './fleet/device-views-handlers';
import { deviceFiltersHandlers } from './fleet/device-filters-handlers';
import { deviceTypesHandlers } from './fleet/device-types-handlers';
import { devicesHandlers } from './fleet/devices-handlers';
import { liveStateHandlers } from './fleet/live-state-handlers';
import { installersHandlers } from './lifecycle/installers-handlers';
import { deploymentsHandlers } from './lifecycle/deployments-handlers';
import { softwareHandlers } from './lifecycle/software-handlers';
import { enrollmentCodesHandlers } from './fleet/enrollment-codes-handlers';
import { enrollmentRequestsHandlers } from './fleet/enrollment-requests-handlers';
import { sitesHandlers } from './fleet/sites-handlers';
import { contract } from './generated/contract.gen';
import { auditEventsHandlers } from './integrate/audit-events-handlers';
import { webhooksHandlers } from './integrate/webhooks-handlers';
import { notificationChannelsHandlers } from './integrate/notification-channels-handlers';
import { metaHandlers } from './meta/meta-handlers';
import { alertRulesHandlers } from './observe/alert-rules-handlers';
import { incidentsHandlers } from './observe/incidents-handlers';
import { eventsHandlers } from './observe/events-handlers';
import { commandsHandlers } from './operations/commands-handlers';
import { jobsHandlers } from './operations/jobs-handlers';
import { processesHandlers } from './operations/processes-handlers';
import { schedulesHandlers } from './operations/schedules-handlers';
import { scriptsHandlers } from './operations/scripts-handlers';
import { agentReleasesHandlers } from './lifecycle/agent-releases-handlers';
import { rolloutsHandlers } from './lifecycle/rollouts-handlers';

export function createRouter(context: AppContext) {
  return initServer().router(contract, {
    meta: metaHandlers(context),
    auth: authHandlers(context),
    mfa: mfaHandlers(context),
    passkeys: passkeysHandlers(context),
    users: usersHandlers(context),
    roles: rolesHandlers(context),
    apiTokens: apiTokensHandlers(context),
    identityProviders: identityProvidersHandlers(context),
    sites: sitesHandlers(context),
    devices: devicesHandlers(context),
    deviceFilters: deviceFiltersHandlers(context),
    customFields: customFieldsHandlers(context),
    deviceViews: deviceViewsHandlers(context),
    enrollmentCodes: enrollmentCodesHandlers(context),
    enrollmentRequests: enrollmentRequestsHandlers(context),
    agent: agentHandlers(context),
    deviceTypes: deviceTypesHandlers(),
    commands: commandsHandlers(context),
    scripts: scriptsHandlers(context),
    jobs: jobsHandlers(context),
    events: eventsHandlers(context),
    monitoredProcesses: processesHandlers(context),
    webhookEndpoints: webhooksHandlers(context),
    notificationChannels: notificationChannelsHandlers(context),
    alertRules: alertRulesHandlers(context),
    incidents: incidentsHandlers(context),
    auditEvents: auditEventsHandlers(context),
    schedules: schedulesHandlers(context),
    agentReleases: agentReleasesHandlers(context),
    rollouts: rolloutsHandlers(context),
    liveState: liveStateHandlers(context),
    installers: installersHandlers(context),
    deployments: deploymentsHandlers(context),
    software: softwareHandlers(context),
  });
}
