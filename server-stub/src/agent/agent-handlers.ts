/** Every route of the Agent tag: enrolment and credentials, then what an enrolled agent does. */
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { agentCommandRoutes } from './commands-handlers';
import { agentConfigRoutes } from './config-handlers';
import { agentEnrollmentRoutes } from './enrollment-handlers';
import { agentEventRoutes } from './events-handlers';
import { agentInventoryRoutes } from './inventory-handlers';
import { agentScreenshotRoutes } from '../fleet/screenshots-handlers';
import { agentHeartbeatRoutes } from './heartbeat-handlers';
import { agentRolloutRoutes } from '../lifecycle/rollouts-handlers';
import { agentDownloadRoutes } from '../lifecycle/agent-downloads-handlers';
import { agentInstallerRoutes } from '../lifecycle/installers-handlers';

export function agentHandlers(context: AppContext) {
  return initServer().router(contract.agent, {
    ...agentEnrollmentRoutes(context),
    ...agentHeartbeatRoutes(context),
    ...agentCommandRoutes(context),
    ...agentEventRoutes(context),
    ...agentInventoryRoutes(context),
    ...agentConfigRoutes(context),
    ...agentScreenshotRoutes(context),
    ...agentRolloutRoutes(context),
    ...agentDownloadRoutes(context),
    ...agentInstallerRoutes(context),
  });
}
