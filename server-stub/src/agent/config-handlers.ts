import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { agentOf } from '../http/principal';
import { desiredConfig } from '../operations/processes-store';

const s = initServer();

export function agentConfigRoutes(context: AppContext) {
  return {
    getAgentConfig: s.route(contract.agent.getAgentConfig, async ({ req }) => ({
      status: 200,
      body: await desiredConfig(context, agentOf(req).deviceId),
    })),
  };
}
