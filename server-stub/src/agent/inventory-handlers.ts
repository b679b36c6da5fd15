import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { agentOf } from '../http/principal';
import { toInventory } from '../fleet/devices-store';
import type { DeviceInventoriesTable } from '../store/schema';

const s = initServer();

export function agentInventoryRoutes(context: AppContext) {
  return {
    uploadAgentInventory: s.route(contract.agent.uploadAgentInventory, async ({ body, req }) => {
      const row: DeviceInventoriesTable = {
        device_id: agentOf(req).deviceId,
        reported_at: context.now().toISOString(),
        hardware: JSON.stringify(body.hardware),
        software: JSON.stringify(body.software),
        services: JSON.stringify(body.services),
      };
      const { device_id: _key, ...replaced } = row;
      await context.db
        .insertInto('device_inventories')
        .values(row)
        .onConflict((conflict) => conflict.column('device_id').doUpdateSet(replaced))
        .execute();
      return { status: 200, body: toInventory(row) };
    }),
  };
}
