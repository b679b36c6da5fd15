import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract';
import { agentOf } from '../http/principal';
import { recordHeartbeat } from '../fleet/presence';

const s = initServer();

export function agentHeartbeatRoutes(context: AppContext) {
  return {
    sendAgentHeartbeat: s.route(contract.agent.sendAgentHeartbeat, async ({ body, req }) => {
      const { deviceId } = agentOf(req);
      const { status, seenAt } = await recordHeartbeat(context, deviceId, body);
      return {
        status: 200,
        body: {
          device_id: deviceId, status, next_heartbeat_seconds: context.fleet.heartbeatIntervalSeconds,
          // No commands exist yet in this version of the API; the count is real once they do.
          pending_commands: 0,
          server_time: seenAt,
        },
      };
    }),
  };
}
