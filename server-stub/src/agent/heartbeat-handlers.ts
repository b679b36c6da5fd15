import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { agentOf } from '../http/principal';
import { assertCustomFieldKeys, writeAgentValues } from '../fleet/custom-fields-store';
import { recordHeartbeat } from '../fleet/presence';
import { recordProcessStates } from '../operations/process-states';
import { configVersion } from '../operations/processes-store';
import { agentUpdateFor } from '../lifecycle/rollouts-store';

const s = initServer();

export function agentHeartbeatRoutes(context: AppContext) {
  return {
    sendAgentHeartbeat: s.route(contract.agent.sendAgentHeartbeat, async ({ body, req }) => {
      const { deviceId } = agentOf(req);
      if (body.custom_fields !== undefined) assertCustomFieldKeys(body.custom_fields, '/body/custom_fields');
      const { status, seenAt, pendingCommands } = await recordHeartbeat(context, deviceId, body);
      await recordProcessStates(context, deviceId, body.processes, seenAt);
      const ignoredCustomFields =
        body.custom_fields === undefined
          ? undefined
          : await writeAgentValues(context, deviceId, body.custom_fields);
      return {
        status: 200,
        body: {
          device_id: deviceId,
          status,
          next_heartbeat_seconds: context.fleet.heartbeatIntervalSeconds,
          pending_commands: pendingCommands,
          config_version: await configVersion(context, deviceId),
          server_time: seenAt,
          ...(ignoredCustomFields === undefined ? {} : { ignored_custom_fields: ignoredCustomFields }),
          ...(await agentUpdateFor(context, deviceId).then((update) => update && { agent_update: update })),
        },
      };
    }),
  };
}
