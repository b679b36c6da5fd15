import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type Job } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { whereEqual } from '../store/filters';
import type { JobRow } from '../store/schema';
import {
  cancelJob,
  countTargets,
  findVisibleJob,
  jobTopic,
  retryJob,
  selectJobs,
  selectTargets,
  settleJobs,
  startJob,
  toTargetResult,
  type JobCounts,
} from './jobs-store';

type JobBody = z.infer<typeof Job>;

export function toJob(row: JobRow, counts: JobCounts): JobBody {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    kind: row.kind,
    command_type: row.command_type,
    params: JSON.parse(row.params) as Record<string, unknown>,
    script_id: row.script_id,
    script_version: row.script_version,
    target: JSON.parse(row.target) as JobBody['target'],
    timeout_seconds: row.timeout_seconds,
    attempt: row.attempt,
    counts,
    schedule_id: row.schedule_id,
    created_by: row.created_by,
    created_at: row.created_at,
    finished_at: row.finished_at,
    cancelled_at: row.cancelled_at,
  };
}

export function jobsHandlers(context: AppContext) {
  /** The job as it is now, with its counts. */
  async function present(id: string): Promise<JobBody> {
    const row = await context.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return toJob(row, (await countTargets(context.db, [id])).get(id)!);
  }

  return initServer().router(contract.jobs, {
    listJobs: async ({ query, req }) => {
      await settleJobs(context);
      const page = await paginate(
        query,
        whereEqual(selectJobs(context, principalOf(req).siteIds), {
          'j.state': query.state,
          'j.script_id': query.script_id,
          'j.created_by': query.created_by,
        }).$if(query.since !== undefined, (qb) => qb.where('j.created_at', '>=', query.since!)),
        (row) => row,
        'j.id',
      );
      const counts = await countTargets(
        context.db,
        page.data.map((job) => job.id),
      );
      return {
        status: 200,
        body: {
          data: page.data.map((job) => toJob(job, counts.get(job.id)!)),
          next_cursor: page.next_cursor,
        },
      };
    },

    createJob: async ({ body, query, req }) => {
      const principal = principalOf(req);
      const job = await startJob(context, { createdBy: principal.user.id, siteIds: principal.siteIds }, body);
      const latest =
        query.wait_seconds === 0
          ? await present(job.id)
          : await context.signals.waitFor(
              jobTopic(job.id),
              query.wait_seconds * 1000,
              context.timers,
              'job-wait',
              () => present(job.id),
              (current) => current.state !== 'running',
              context.draining,
            );
      return { status: latest.state === 'running' ? 202 : 200, body: latest };
    },

    getJob: async ({ params, req }) => {
      await settleJobs(context, [params.job_id]);
      const job = await findVisibleJob(context, principalOf(req).siteIds, params.job_id);
      return { status: 200, body: await present(job.id) };
    },

    listJobTargets: async ({ params, query, req }) => {
      const job = await findVisibleJob(context, principalOf(req).siteIds, params.job_id);
      const body = await paginate(
        query,
        selectTargets(context, job.id, query.state),
        toTargetResult,
        't.device_id',
      );
      return { status: 200, body };
    },

    cancelJob: async ({ params, req }) => {
      const job = await findVisibleJob(context, principalOf(req).siteIds, params.job_id);
      await cancelJob(context, job);
      return { status: 200, body: await present(job.id) };
    },

    retryJob: async ({ params, req }) => {
      await settleJobs(context, [params.job_id]);
      const job = await findVisibleJob(context, principalOf(req).siteIds, params.job_id);
      await retryJob(context, job);
      return { status: 202, body: await present(job.id) };
    },
  });
}
