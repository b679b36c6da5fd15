import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf, type Principal } from '../http/principal';
import { findVisibleDevice } from '../fleet/devices-store';
import { newId } from '../store/ids';
import type { MonitoredProcessRow } from '../store/schema';
import {
  assertNameFree,
  assertRunnable,
  forgetConfigVersion,
  type ProcessWithStateRow,
  selectProcesses,
  toProcess,
} from './processes-store';
import { oneOrNotFound } from '../store/found';

const DEFAULT_RESTART_DELAY_SECONDS = 5;
const NOT_REPORTED = {
  state: null,
  pid: null,
  restart_count: null,
  state_changed_at: null,
  reported_at: null,
  last_exit_code: null,
  last_exit_signal: null,
  last_exit_at: null,
};

export function processesHandlers(context: AppContext) {
  const { db } = context;

  async function findProcess(
    principal: Principal,
    deviceId: string,
    processId: string,
  ): Promise<ProcessWithStateRow> {
    const device = await findVisibleDevice(context, principal, deviceId);
    return oneOrNotFound(
      selectProcesses(db)
        .where('monitored_processes.id', '=', processId)
        .where('monitored_processes.device_id', '=', device.id),
      'monitored process',
      processId,
    );
  }

  const monitored = versionedRoutes(context, {
    table: 'monitored_processes',
    read: ({ params, req }: RouteArgs<{ device_id: string; process_id: string }>) =>
      findProcess(principalOf(req), params.device_id, params.process_id),
    present: toProcess,
  });

  return initServer().router(contract.monitoredProcesses, {
    listMonitoredProcesses: async ({ params, query, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const body = await paginate(
        query,
        selectProcesses(db).where('monitored_processes.device_id', '=', device.id),
        toProcess,
        'monitored_processes.id',
      );
      return { status: 200, body };
    },

    createMonitoredProcess: async ({ params, body, req, res }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const launchMode = body.launch_mode ?? 'always';
      const schedules = body.schedules ?? [];
      assertRunnable({ launch_mode: launchMode, schedules });
      await assertNameFree(context, device.id, body.name);
      const now = context.now().toISOString();
      const row: MonitoredProcessRow = {
        id: newId('prc'),
        device_id: device.id,
        name: body.name,
        name_key: body.name.toLowerCase(),
        executable_path: body.executable_path,
        arguments: JSON.stringify(body.arguments ?? []),
        working_directory: body.working_directory ?? null,
        launch_mode: launchMode,
        schedules: JSON.stringify(schedules),
        restart_delay_seconds: body.restart_delay_seconds ?? DEFAULT_RESTART_DELAY_SECONDS,
        version: 1,
        created_at: now,
        updated_at: now,
      };
      const { version: _version, ...insertable } = row;
      await db.insertInto('monitored_processes').values(insertable).execute();
      forgetConfigVersion(context, device.id);
      setEtag(res, row.version);
      return { status: 201, body: toProcess({ ...row, ...NOT_REPORTED }) };
    },

    getMonitoredProcess: monitored.get,

    updateMonitoredProcess: monitored.update(
      async ({ body }: HandlerArgs<typeof contract.monitoredProcesses.updateMonitoredProcess>, current) => {
        assertRunnable({ ...toProcess(current), ...body });
        if (body.name !== undefined) await assertNameFree(context, current.device_id, body.name, current.id);
        const { arguments: args, schedules, ...fields } = body;
        return {
          ...fields,
          ...(body.name === undefined ? {} : { name_key: body.name.toLowerCase() }),
          ...(args === undefined ? {} : { arguments: JSON.stringify(args) }),
          ...(schedules === undefined ? {} : { schedules: JSON.stringify(schedules) }),
        };
      },
      async (_trx, _args, current) => forgetConfigVersion(context, current.device_id),
    ),

    deleteMonitoredProcess: async ({ params, req }) => {
      const row = await findProcess(principalOf(req), params.device_id, params.process_id);
      await db.deleteFrom('monitored_processes').where('id', '=', row.id).execute();
      forgetConfigVersion(context, row.device_id);
      return { status: 204, body: undefined };
    },
  });
}
