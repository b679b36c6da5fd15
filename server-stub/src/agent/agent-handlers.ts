/** Every route of the Agent tag: enrolment and credentials, then what an enrolled agent does. */
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract';
import { agentCommandRoutes } from './commands';
import { agentConfigRoutes } from './config';
import { agentEnrollmentRoutes } from './enrollment';
import { agentEventRoutes } from './events';
import { agentInventoryRoutes } from './inventory';
import { agentScreenshotRoutes } from '../fleet/screenshots';
import { agentHeartbeatRoutes } from './heartbeat';

export function agentHandlers(context: AppContext) {
  return initServer().router(contract.agent, {
    ...agentEnrollmentRoutes(context),
    ...agentHeartbeatRoutes(context),
    ...agentCommandRoutes(context),
    ...agentEventRoutes(context),
    ...agentInventoryRoutes(context),
    ...agentConfigRoutes(context),
    ...agentScreenshotRoutes(context),
  });
}
