/**
 * Jobs on PostgreSQL: creation (chunked inserts of targets and commands in one transaction),
 * counts grouped over a LEFT JOIN, the settling update with NOT EXISTS, the visibility
 * subquery, cancel and retry (attempts + 1 in SQL), through the SDK against a throwaway cluster.
 */
import { describe, expect, it } from 'vitest';
import {
  cancelJob,
  createJob,
  getJob,
  listJobTargets,
  listJobs,
  pollAgentCommands,
  reportAgentCommandResult,
  retryJob,
  updateDevice,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { usePostgresServer } from './support/postgres';
import { ok } from './support/server';
import { addMember, addSite } from './support/world';

const t = usePostgresServer();

const report = async (agent: Agent, status: 'succeeded' | 'failed') => {
  for (const command of ok(await pollAgentCommands({ client: agent.client })).data)
    ok(
      await reportAgentCommandResult({
        client: agent.client,
        path: { command_id: command.id },
        body: { status, exit_code: status === 'succeeded' ? 0 : 1, stdout: 'ok\n', duration_ms: 3 },
      }),
    );
};

describe('jobs on PostgreSQL', () => {
  it('starts a job over a site, counts it, settles it once, retries the failed target and cancels', async () => {
    const site = await addSite(t);
    const agents = [await addAgent(t, site.id), await addAgent(t, site.id), await addAgent(t, site.id)];
    ok(
      await updateDevice({
        client: t.admin,
        path: { device_id: agents[2]!.deviceId },
        body: { device_type: 'relay' },
      }),
    );
    const created = await createJob({
      client: t.admin,
      body: { command: { type: 'reboot', params: { delay_seconds: 5 } }, target: { site_ids: [site.id] } },
    });
    expect(created.response.status).toBe(202);
    const job = ok(created);
    expect(job.counts).toMatchObject({ total: 3, pending: 2, unsupported: 1 });

    await report(agents[0]!, 'succeeded');
    await report(agents[1]!, 'failed');
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } }))).toMatchObject({
      state: 'partially_failed',
      counts: { succeeded: 1, failed: 1, unsupported: 1 },
    });

    const retried = ok(await retryJob({ client: t.admin, path: { job_id: job.id } }));
    expect(retried).toMatchObject({ state: 'running', attempt: 2, counts: { pending: 1, succeeded: 1 } });
    await report(agents[1]!, 'succeeded');
    const targets = ok(await listJobTargets({ client: t.admin, path: { job_id: job.id } })).data;
    expect(targets.map((target) => [target.state, target.attempts]).sort()).toEqual([
      ['succeeded', 1],
      ['succeeded', 2],
      ['unsupported', 0],
    ]);
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } })).state).toBe('partially_failed');

    const outsider = await addMember(t, 'operator', [(await addSite(t)).id]);
    expect(ok(await listJobs({ client: outsider.client, query: { limit: 500 } })).data).toEqual([]);
    expect(
      ok(await listJobs({ client: t.admin, query: { state: 'partially_failed' } })).data.map((j) => j.id),
    ).toEqual([job.id]);

    const second = ok(
      await createJob({
        client: t.admin,
        body: {
          command: { type: 'echo', params: { text: 'x' } },
          target: { device_ids: [agents[0]!.deviceId] },
        },
      }),
    );
    expect(ok(await cancelJob({ client: t.admin, path: { job_id: second.id } }))).toMatchObject({
      state: 'cancelled',
      counts: { cancelled: 1 },
    });
  });
});
