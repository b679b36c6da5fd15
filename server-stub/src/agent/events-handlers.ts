import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { agentOf } from '../http/principal';
import { emitEvent, toEvent } from '../observe/events-store';

const s = initServer();

export function agentEventRoutes(context: AppContext) {
  return {
    sendAgentEvent: s.route(contract.agent.sendAgentEvent, async ({ body, req }) => {
      const { deviceId, siteId } = agentOf(req);
      const row = await emitEvent(context, {
        type: `agent.${body.type}`,
        severity: body.severity,
        source: 'agent',
        siteId,
        deviceId,
        message: body.message,
        data: body.data ?? {},
      });
      return { status: 201, body: toEvent(row) };
    }),
  };
}
