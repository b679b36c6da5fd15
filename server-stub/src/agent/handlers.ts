/** Every route of the Agent tag: enrolment and credentials, then what an enrolled agent sends. */
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract';
import { agentEnrollmentRoutes } from './enrollment';
import { agentHeartbeatRoutes } from './heartbeat';

export function agentHandlers(context: AppContext) {
  return initServer().router(contract.agent, {
    ...agentEnrollmentRoutes(context),
    ...agentHeartbeatRoutes(context),
  });
}
