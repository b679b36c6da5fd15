/**
 * Every operation of the contract bound to its handler. This object is checked against the
 * contract by ts-rest: leaving out an operation, or returning a status or body the spec does not
 * declare for it, is a compile error (see test/contract-enforcement.test.ts).
 */
import { initServer } from '@ts-rest/express';
import { apiTokensHandlers } from './access/api-tokens';
import { agentHandlers } from './agent/handlers';
import { usersHandlers } from './access/users';
import { authHandlers } from './auth/handlers';
import type { AppContext } from './context';
import { deviceTypesHandlers } from './fleet/device-types';
import { devicesHandlers } from './fleet/devices';
import { enrollmentCodesHandlers } from './fleet/enrollment-codes';
import { enrollmentRequestsHandlers } from './fleet/enrollment-requests';
import { sitesHandlers } from './fleet/sites';
import { contract } from './generated/contract';
import { metaHandlers } from './meta/handlers';
import { eventsHandlers } from './observe/events';
import { commandsHandlers } from './operations/commands';
import { processesHandlers } from './operations/processes';

export function createRouter(context: AppContext) {
  return initServer().router(contract, {
    meta: metaHandlers(context),
    auth: authHandlers(context),
    users: usersHandlers(context),
    apiTokens: apiTokensHandlers(context),
    sites: sitesHandlers(context),
    devices: devicesHandlers(context),
    enrollmentCodes: enrollmentCodesHandlers(context),
    enrollmentRequests: enrollmentRequestsHandlers(context),
    agent: agentHandlers(context),
    deviceTypes: deviceTypesHandlers(),
    commands: commandsHandlers(context),
    events: eventsHandlers(context),
    monitoredProcesses: processesHandlers(context),
  });
}
