import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { ScheduleRow } from '../store/schema';
import { countTargets, selectJobs } from './jobs-store';
import { toJob } from './jobs-handlers';
import {
  checkJob,
  jobSites,
  findVisibleSchedule,
  nextRunOf,
  presentSchedule,
  presentSchedules,
  runScheduleNow,
  selectSchedules,
  triggerColumns,
  writeScheduleSites,
} from './schedules-store';

export function schedulesHandlers(context: AppContext) {
  const { db } = context;

  const schedules = versionedRoutes(context, {
    table: 'schedules',
    read: ({ params, req }: RouteArgs<{ schedule_id: string }>) =>
      findVisibleSchedule(context, principalOf(req).siteIds, params.schedule_id),
    present: (row: ScheduleRow) => presentSchedule(context, row),
  });

  return initServer().router(contract.schedules, {
    listSchedules: async ({ query, req }) => {
      const select = whereEqual(selectSchedules(context, principalOf(req).siteIds), {
        's.enabled': query.enabled === undefined ? undefined : Number(query.enabled),
      });
      const page = await paginate(query, select, (row) => row, 's.id');
      return { status: 200, body: { ...page, data: await presentSchedules(context, page.data) } };
    },

    createSchedule: async ({ body, req, res }) => {
      const principal = principalOf(req);
      const now = context.now();
      const trigger = triggerColumns(body.trigger, now);
      await checkJob(context, principal, body.job);
      const siteIds = await jobSites(context, principal, body.job);
      const enabled = body.enabled === false ? 0 : 1;
      const row = {
        id: newId('sch'),
        name: body.name,
        description: body.description ?? '',
        enabled,
        ...trigger,
        missed_runs: body.missed_runs ?? 'skip',
        job: JSON.stringify(body.job),
        filter_id: body.job.target.filter_id ?? null,
        all_sites: siteIds === null ? 1 : 0,
        next_run_at: nextRunOf({ ...trigger, enabled }, now),
        last_run_job_id: null,
        last_run_cause: null,
        last_run_scheduled_for: null,
        last_run_at: null,
        last_skipped_at: null,
        last_error: null,
        created_by: principal.user.id,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('schedules').values(row).execute();
        await writeScheduleSites(trx, row.id, siteIds);
      });
      setEtag(res, 1);
      return {
        status: 201,
        body: await presentSchedule(context, await findVisibleSchedule(context, null, row.id)),
      };
    },

    getSchedule: schedules.get,

    updateSchedule: schedules.update(
      async ({ body, req }: HandlerArgs<typeof contract.schedules.updateSchedule>, current) => {
        const now = context.now();
        const trigger = body.trigger === undefined ? current : triggerColumns(body.trigger, now);
        const enabled = body.enabled === undefined ? current.enabled : Number(body.enabled);
        const retimed = body.trigger !== undefined || enabled !== current.enabled;
        if (body.job !== undefined) await checkJob(context, principalOf(req), body.job);
        const sites =
          body.job === undefined ? undefined : await jobSites(context, principalOf(req), body.job);
        return {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.missed_runs === undefined ? {} : { missed_runs: body.missed_runs }),
          ...(body.trigger === undefined
            ? {}
            : {
                trigger_kind: trigger.trigger_kind,
                cron: trigger.cron,
                time_zone: trigger.time_zone,
                interval_seconds: trigger.interval_seconds,
                anchor_at: trigger.anchor_at,
                run_at: trigger.run_at,
              }),
          ...(body.job === undefined
            ? {}
            : {
                job: JSON.stringify(body.job),
                filter_id: body.job.target.filter_id ?? null,
                all_sites: sites === null ? 1 : 0,
              }),
          enabled,
          ...(retimed ? { next_run_at: nextRunOf({ ...trigger, enabled }, now) } : {}),
        };
      },
      async (trx, { body, req }, current) => {
        if (body.job !== undefined)
          await writeScheduleSites(trx, current.id, await jobSites(context, principalOf(req), body.job));
      },
    ),

    deleteSchedule: async ({ params, req }) => {
      const schedule = await findVisibleSchedule(context, principalOf(req).siteIds, params.schedule_id);
      await db.deleteFrom('schedules').where('id', '=', schedule.id).execute();
      return { status: 204, body: undefined };
    },

    runScheduleNow: async ({ params, req }) => {
      const principal = principalOf(req);
      const schedule = await findVisibleSchedule(context, principal.siteIds, params.schedule_id);
      const job = await runScheduleNow(context, principal, schedule);
      const counts = await countTargets(db, [job.id]);
      return { status: 202, body: toJob(job, counts.get(job.id)!) };
    },

    listScheduleRuns: async ({ params, query, req }) => {
      const siteIds = principalOf(req).siteIds;
      const schedule = await findVisibleSchedule(context, siteIds, params.schedule_id);
      const page = await paginate(
        query,
        selectJobs(context, siteIds).where('j.schedule_id', '=', schedule.id),
        (row) => row,
        'j.id',
      );
      const counts = await countTargets(
        db,
        page.data.map((job) => job.id),
      );
      return {
        status: 200,
        body: { ...page, data: page.data.map((job) => toJob(job, counts.get(job.id)!)) },
      };
    },
  });
}
