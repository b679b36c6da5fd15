/**
 * Live state of a device, through its agent: the processes running now (the output of its latest
 * `list_processes` command, asked for again when older than the caller accepts), terminating one
 * by PID, and service actions. Each is a command of the device type's catalogue, sent, waited for
 * and followed like any other (operations/commands-store.ts).
 */
import { initServer } from '@ts-rest/express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { contract, LiveProcess } from '../generated/contract.gen';
import { principalOf, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import {
  answerCommand,
  type CommandWithSite,
  expireDueCommands,
  LIVE_STATUSES,
  selectCommands,
  sendCommand,
  toCommand,
  waitForCommand,
} from '../operations/commands-store';
import type { DeviceRow } from '../store/schema';
import { findCommandType } from './device-type-catalogue';
import { findVisibleDevice } from './devices-store';

const LIST = 'list_processes';
/** What a `list_processes` command returns; entries that are not processes are left out. */
const ListOutput = z.object({ processes: z.array(z.unknown()).max(1000) });

function processesOf(command: CommandWithSite | undefined) {
  if (command?.result == null) return [];
  const listed = ListOutput.safeParse((JSON.parse(command.result) as { output: unknown }).output);
  if (!listed.success) return [];
  return listed.data.processes.flatMap((entry) => {
    const process = LiveProcess.safeParse(entry);
    return process.success ? [process.data] : [];
  });
}

/** The device's command type `name`, or the 409 `code` when the device's type has none. */
function commandTypeOf(device: DeviceRow, name: string, code: string, lacks: string) {
  const commandType = findCommandType(device.device_type, name);
  if (!commandType) throw problems.conflict(code, `Devices of type ${device.device_type} have no ${lacks}.`);
  return commandType;
}

export function liveStateHandlers(context: AppContext) {
  const commandsOf = (principal: Principal, device: DeviceRow) =>
    selectCommands(context, principal).where('c.device_id', '=', device.id).where('c.type', '=', LIST);

  /** Sends the device's command `type`, waiting `waitSeconds` for it: 200 when it finished, else 202. */
  async function send(
    principal: Principal,
    device: DeviceRow,
    type: string,
    params: Record<string, unknown>,
    waitSeconds: number,
    unsupported: { code: string; lacks: string },
  ) {
    const commandType = commandTypeOf(device, type, unsupported.code, unsupported.lacks);
    return answerCommand(
      await sendCommand(
        context,
        device,
        { type, params, timeoutSeconds: commandType.default_timeout_seconds, createdBy: principal.user.id },
        waitSeconds,
      ),
    );
  }

  return initServer().router(contract.liveState, {
    listLiveProcesses: async ({ params, query, req }) => {
      const principal = principalOf(req);
      const device = await findVisibleDevice(context, principal, params.device_id);
      const listCommand = commandTypeOf(device, LIST, 'live_state_unsupported', 'live process list');
      await expireDueCommands(context);
      const latest = await commandsOf(principal, device)
        .where('c.status', '=', 'succeeded')
        .orderBy('c.finished_at', 'desc')
        .orderBy('c.id', 'desc')
        .executeTakeFirst();
      const listOf = (command: CommandWithSite | undefined) => ({
        device_id: device.id,
        collected_at: command?.finished_at ?? null,
        processes: processesOf(command),
      });
      const oldest = context.now().getTime() - query.max_age_seconds * 1000;
      if (latest?.finished_at && Date.parse(latest.finished_at) > oldest)
        return { status: 200, body: { ...listOf(latest), refresh_command: null } };

      const underway = await commandsOf(principal, device)
        .where('c.status', 'in', LIVE_STATUSES)
        .orderBy('c.id', 'desc')
        .executeTakeFirst();
      const refresh = underway
        ? await waitForCommand(context, underway, query.wait_seconds)
        : await sendCommand(
            context,
            device,
            {
              type: LIST,
              params: {},
              timeoutSeconds: listCommand.default_timeout_seconds,
              createdBy: principal.user.id,
            },
            query.wait_seconds,
          );
      const refreshed = refresh.status === 'succeeded';
      return {
        status: refreshed ? 200 : 202,
        body: { ...listOf(refreshed ? refresh : latest), refresh_command: toCommand(refresh) },
      };
    },

    terminateLiveProcess: async ({ params, query, req }) => {
      const principal = principalOf(req);
      const device = await findVisibleDevice(context, principal, params.device_id);
      return send(principal, device, 'terminate_process', { pid: params.pid }, query.wait_seconds, {
        code: 'live_state_unsupported',
        lacks: 'live process list',
      });
    },

    runServiceAction: async ({ params, query, body, req }) => {
      const principal = principalOf(req);
      const device = await findVisibleDevice(context, principal, params.device_id);
      return send(
        principal,
        device,
        `${body.action}_service`,
        { service_name: params.service_name },
        query.wait_seconds,
        { code: 'services_unsupported', lacks: 'system services' },
      );
    },
  });
}
