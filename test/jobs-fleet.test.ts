/**
 * A job over a fleet of 200 simulated agents (MeridianAgent, as the fleet simulator runs them):
 * each agent receives its target's command by long-poll and reports it; the operator sees the
 * counts and every device's result, retries the failed targets only, and cancels a job whose
 * commands the busy agents have not picked up yet.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setMaxListeners } from 'node:events';
import { Meridian, MeridianAgent, type Job } from '@meridian/sdk';
import { checkedFetch } from './support/checked-fetch';
import { useTestServer } from './support/use-test-server';

const AGENTS = 200;
/** Every tenth agent fails its echo until told otherwise. */
const failing = new Set<string>();
let gate: Promise<void> = Promise.resolve();
let openGate = (): void => undefined;

const t = useTestServer({ fleet: { heartbeatIntervalSeconds: 60 } });
let operator: Meridian;
let siteId: string;
const agents: MeridianAgent[] = [];
const runs: Promise<void>[] = [];
const stop = new AbortController();
setMaxListeners(AGENTS * 4 + 16, stop.signal);

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  const site = await operator.sites.create({ name: 'Job fleet' });
  siteId = site.id;
  const { code } = await operator.enrollmentCodes.create(site.id, { auto_approve: true, max_uses: AGENTS });
  for (let first = 0; first < AGENTS; first += 25) {
    const batch = Array.from({ length: Math.min(25, AGENTS - first) }, (_, i) => first + i);
    agents.push(
      ...(await Promise.all(
        batch.map(async (n) => {
          const agent = new MeridianAgent({ baseUrl: t.url, logLevel: 'off' });
          await agent.enroll({
            code,
            fingerprint: `jobs-fleet:${n}`,
            facts: {
              hostname: `sim-${String(n).padStart(3, '0')}`,
              platform: 'linux',
              agent_version: 'sim-1.0.0',
            },
          });
          return agent;
        }),
      )),
    );
  }
  for (const [n, agent] of agents.entries()) {
    if (n % 10 === 0) failing.add(agent.deviceId!);
    runs.push(
      agent.run({
        signal: stop.signal,
        heartbeat: () => ({ status: 'ok', agent_version: 'sim-1.0.0', uptime_seconds: 60 }),
        pollWaitSeconds: 30,
        handlers: {
          echo: async (command) =>
            failing.has(agent.deviceId!)
              ? { exit_code: 1, stderr: 'simulated failure\n' }
              : { exit_code: 0, stdout: `${String(command.params.text)}\n` },
          ping: async () => {
            await gate;
            return { stdout: 'pong\n' };
          },
        },
      }),
    );
  }
}, 120_000);
afterAll(async () => {
  stop.abort();
  openGate();
  await Promise.allSettled(runs);
});

const finished = async (job: Job): Promise<Job> => {
  let current = job;
  await vi.waitFor(
    async () => {
      current = await operator.jobs.get(job.id);
      expect(current.state).not.toBe('running');
    },
    { timeout: 30_000, interval: 100 },
  );
  return current;
};

describe(`a job over ${AGENTS} simulated agents`, () => {
  let job: Job;

  it('runs one command per agent, waits for all of them, and counts them', async () => {
    job = await operator.jobs.create(
      {
        name: 'Echo across the fleet',
        command: { type: 'echo', params: { text: 'hello fleet' } },
        target: { site_ids: [siteId] },
      },
      { wait_seconds: 60 },
    );
    expect(job.state).toBe('partially_failed');
    expect(job.counts).toEqual({
      total: AGENTS,
      pending: 0,
      delivered: 0,
      running: 0,
      succeeded: AGENTS - AGENTS / 10,
      failed: AGENTS / 10,
      cancelled: 0,
      expired: 0,
      unsupported: 0,
    });
  }, 60_000);

  it("shows every device's result, a page at a time", async () => {
    const targets = await operator.jobs.listTargets(job.id, { limit: 50 }).toArray({ limit: 500 });
    expect(targets).toHaveLength(AGENTS);
    expect(new Set(targets.map((target) => target.device_id))).toEqual(
      new Set(agents.map((a) => a.deviceId)),
    );
    for (const target of targets) {
      if (failing.has(target.device_id))
        expect(target).toMatchObject({
          state: 'failed',
          exit_code: 1,
          stderr: 'simulated failure\n',
          attempts: 1,
        });
      else
        expect(target).toMatchObject({
          state: 'succeeded',
          exit_code: 0,
          stdout: 'hello fleet\n',
          attempts: 1,
        });
    }
    const failed = await operator.jobs.listTargets(job.id, { state: 'failed', limit: 500 });
    expect(failed.data.map((target) => target.device_id).sort()).toEqual([...failing].sort());
  });

  it('retries the failed targets only', async () => {
    const before = new Map(
      (await operator.jobs.listTargets(job.id, { limit: 500 })).data.map((target) => [
        target.device_id,
        target,
      ]),
    );
    const retriedDevices = [...failing];
    failing.clear();
    const retried = await operator.jobs.retry(job.id);
    expect(retried).toMatchObject({ state: 'running', attempt: 2 });
    expect(retried.counts.succeeded).toBe(AGENTS - retriedDevices.length);
    const done = await finished(retried);
    expect(done).toMatchObject({ state: 'succeeded', attempt: 2, counts: { succeeded: AGENTS, failed: 0 } });
    const after = (await operator.jobs.listTargets(job.id, { limit: 500 })).data;
    for (const target of after) {
      const wasRetried = retriedDevices.includes(target.device_id);
      expect(target.attempts).toBe(wasRetried ? 2 : 1);
      // The targets that had succeeded keep their first command.
      if (!wasRetried) expect(target.command_id).toBe(before.get(target.device_id)!.command_id);
      else expect(target.command_id).not.toBe(before.get(target.device_id)!.command_id);
    }
  }, 60_000);

  it('cancels the commands busy agents have not picked up, and the rest finish', async () => {
    gate = new Promise((resolve) => (openGate = resolve));
    const busy = await operator.jobs.create({ command: { type: 'ping' }, target: { site_ids: [siteId] } });
    // Every agent is now inside its ping handler, so the next job's commands stay pending.
    await vi.waitFor(async () => expect((await operator.jobs.get(busy.id)).counts.pending).toBe(0), {
      timeout: 30_000,
      interval: 100,
    });
    const queued = await operator.jobs.create({
      command: { type: 'echo', params: { text: 'never' } },
      target: { site_ids: [siteId] },
    });
    const cancelled = await operator.jobs.cancel(queued.id);
    expect(cancelled).toMatchObject({ state: 'cancelled', counts: { total: AGENTS, cancelled: AGENTS } });
    openGate();
    expect(await finished(busy)).toMatchObject({ state: 'succeeded', counts: { succeeded: AGENTS } });
    expect((await operator.jobs.get(queued.id)).counts.cancelled).toBe(AGENTS);
  }, 60_000);
});
