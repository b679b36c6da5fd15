import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { assertCommandParams, findCommandType } from '../fleet/device-type-catalogue';
import { findVisibleDevice, selectDevices } from '../fleet/devices-store';
import { whereEqual } from '../store/filters';
import {
  answerCommand,
  commandChanged,
  expireDueCommands,
  findVisibleCommand,
  selectCommands,
  sendCommand,
  toCommand,
  transitionLive,
} from './commands-store';

export function commandsHandlers(context: AppContext) {
  const { db } = context;

  return initServer().router(contract.commands, {
    listCommands: async ({ query, req }) => {
      await expireDueCommands(context);
      const body = await paginate(
        query,
        whereEqual(selectCommands(context, principalOf(req)), {
          'c.device_id': query.device_id,
          'd.site_id': query.site_id,
          'c.status': query.status,
          'c.type': query.type,
        }),
        toCommand,
        'c.id',
      );
      return { status: 200, body };
    },

    createCommand: async ({ body, query, req }) => {
      const principal = principalOf(req);
      const device = await selectDevices(context, principal)
        .where('id', '=', body.device_id)
        .executeTakeFirst();
      if (!device) throw problems.unknownReference('device', [body.device_id]);
      const commandType = findCommandType(device.device_type, body.type);
      if (!commandType) {
        throw problems.unprocessable(
          'unsupported_command_type',
          `Devices of type ${device.device_type} have no command ${body.type}; see GET /v1/device-types/${device.device_type}.`,
        );
      }
      const params = body.params ?? {};
      assertCommandParams(device.device_type, body.type, params);

      return answerCommand(
        await sendCommand(
          context,
          device,
          {
            type: body.type,
            params,
            timeoutSeconds: body.timeout_seconds ?? commandType.default_timeout_seconds,
            createdBy: principal.user.id,
          },
          query.wait_seconds,
        ),
      );
    },

    getCommand: async ({ params, req }) => {
      await expireDueCommands(context);
      return {
        status: 200,
        body: toCommand(await findVisibleCommand(context, principalOf(req), params.command_id)),
      };
    },

    cancelCommand: async ({ params, req }) => {
      const command = await findVisibleCommand(context, principalOf(req), params.command_id);
      const cancelled = await transitionLive(context, command, {
        status: 'cancelled',
        finished_at: context.now().toISOString(),
      });
      return { status: 200, body: toCommand({ ...cancelled, site_id: command.site_id }) };
    },

    clearPendingCommands: async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const cancelled = await db
        .updateTable('commands')
        .set({ status: 'cancelled', finished_at: context.now().toISOString() })
        .where('device_id', '=', device.id)
        .where('status', '=', 'pending')
        .returning('id')
        .execute();
      const ids = cancelled.map((c) => c.id).sort();
      for (const id of ids) commandChanged(context, id);
      return { status: 200, body: { cancelled_count: ids.length, command_ids: ids.slice(0, 1000) } };
    },
  });
}
