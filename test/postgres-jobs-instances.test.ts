/**
 * Jobs with several instances: two servers on one PostgreSQL database settle the same jobs side
 * by side, and each job finishes once, with one job.finished event.
 */
import { describe, expect, it } from 'vitest';
import { createJob, listEvents, listJobs, pollAgentCommands, reportAgentCommandResult } from '@meridian/sdk';
import { addAgent, agentFrom } from './support/agents';
import { usePostgresInstances } from './support/postgres';
import { ok } from './support/server';
import { addSite } from './support/world';

const JOBS = 20;

const [t, second] = usePostgresInstances();

describe('two instances on one PostgreSQL database', () => {
  it('finish each job once', async () => {
    const siteId = (await addSite(t)).id;
    const agent = await addAgent(t, siteId);
    const jobIds: string[] = [];
    for (let n = 0; n < JOBS; n++)
      jobIds.push(
        ok(
          await createJob({
            client: t.admin,
            body: {
              command: { type: 'echo', params: { text: `${n}` } },
              target: { device_ids: [agent.deviceId] },
            },
          }),
        ).id,
      );
    // The agent reports through the second instance while both settle again and again.
    const throughSecond = agentFrom(second, agent.credentials);
    const commands = ok(await pollAgentCommands({ client: throughSecond.client, query: { limit: 50 } })).data;
    expect(commands).toHaveLength(JOBS);
    const settling = async () => {
      for (let round = 0; round < 10; round++)
        await Promise.all([t.server.settleJobs(), second.server.settleJobs()]);
    };
    await Promise.all([
      settling(),
      ...commands.map(async (command) =>
        ok(
          await reportAgentCommandResult({
            client: throughSecond.client,
            path: { command_id: command.id },
            body: { status: 'succeeded', exit_code: 0, duration_ms: 1 },
          }),
        ),
      ),
    ]);
    await settling();

    const jobs = ok(await listJobs({ client: t.admin, query: { limit: 500 } })).data;
    expect(jobs.filter((job) => jobIds.includes(job.id)).map((job) => job.state)).toEqual(
      jobIds.map(() => 'succeeded'),
    );
    const finished = ok(
      await listEvents({ client: t.admin, query: { type: 'job.finished', limit: 500 } }),
    ).data;
    const perJob = jobIds.map(
      (id) => finished.filter((event) => (event.data as { job_id: string }).job_id === id).length,
    );
    expect(perJob).toEqual(jobIds.map(() => 1));
  });
});
