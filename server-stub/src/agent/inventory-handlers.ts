import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type Inventory } from '../generated/contract';
import { agentOf } from '../http/principal';
import type { DeviceInventoriesTable } from '../store/schema';

const s = initServer();

type InventoryBody = z.infer<typeof Inventory>;

export function toInventory(row: DeviceInventoriesTable): InventoryBody {
  return {
    device_id: row.device_id,
    reported_at: row.reported_at,
    hardware: JSON.parse(row.hardware) as InventoryBody['hardware'],
    software: JSON.parse(row.software) as InventoryBody['software'],
    services: JSON.parse(row.services) as InventoryBody['services'],
  };
}

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
