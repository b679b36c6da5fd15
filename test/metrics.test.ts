/**
 * GET /metrics: Prometheus text through the SDK (validated against the spec), readable with the
 * `metrics:read` scope only, and without credentials on the separate metrics port. Each figure
 * is read before and after the thing it counts: requests by operation and status, heartbeats,
 * commands by state, open event streams, and passes of each background worker.
 */
import { createCommand, createJob, getJob, getMetrics, getVersion, sendAgentHeartbeat } from '@meridian/sdk';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { addAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, apiToken } from './support/world';

const t = useTestServer({ metricsPort: 0 });
/** A server of its own whose background work is made to fail (its logs kept). */
const failingLog: string[] = [];
const failing = useTestServer({
  metricsPort: 0,
  logLevel: 'error',
  logDestination: { write: (line: string) => void failingLog.push(line) },
});

async function scrape(): Promise<string> {
  const text = ok(await getMetrics({ client: t.admin }));
  expect(typeof text).toBe('string');
  return text as string;
}

const beat = (agent: Agent) =>
  sendAgentHeartbeat({
    client: agent.client,
    body: { status: 'ok', agent_version: '1.2.0', uptime_seconds: 120 },
  });

/** The value of one sample (`name{labels}`, labels in prom-client's order), 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('GET /metrics', () => {
  it('counts requests by operation and status, with their latency', async () => {
    const requests = 'meridian_http_requests_total{operation="getVersion",status="200"}';
    const latency = 'meridian_http_request_duration_seconds_count{operation="getVersion",status="200"}';
    const refused = 'meridian_http_requests_total{operation="getVersion",status="401"}';
    const before = await scrape();
    for (const _ of [1, 2, 3]) ok(await getVersion({ client: t.admin }));
    expectProblem(await getVersion({ client: t.client() }), 401, 'unauthenticated');
    const after = await scrape();
    expect(sample(after, requests) - sample(before, requests)).toBe(3);
    expect(sample(after, latency) - sample(before, latency)).toBe(3);
    expect(sample(after, refused) - sample(before, refused)).toBe(1);
    expect(after).toContain('# TYPE meridian_http_request_duration_seconds histogram');
    expect(after).toContain('meridian_process_resident_memory_bytes');
  });

  it('counts heartbeats and commands by state', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const before = await scrape();
    ok(await beat(agent));
    ok(await createCommand({ client: t.admin, body: { device_id: agent.deviceId, type: 'ping' } }));
    const after = await scrape();
    expect(
      sample(after, 'meridian_agent_heartbeats_total') - sample(before, 'meridian_agent_heartbeats_total'),
    ).toBe(1);
    const queued = 'meridian_commands{state="pending"}';
    expect(sample(after, queued) - sample(before, queued)).toBe(1);
  });

  it('counts the event streams open now', async () => {
    const open = 'meridian_event_streams_open';
    expect(sample(await scrape(), open)).toBe(0);
    const controller = new AbortController();
    const stream = await fetch(`${t.url}/v1/events/stream`, {
      headers: { Authorization: `Bearer ${t.adminToken}` },
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    await t.clock.waitingOn('event-stream');
    expect(sample(await scrape(), open)).toBe(1);
    controller.abort();
    await expect.poll(async () => sample(await scrape(), open)).toBe(0);
  });

  it('counts the passes of the background workers and what they handled', async () => {
    const runs = (worker: string) => `meridian_background_runs_total{worker="${worker}"}`;
    const workers = [
      'sweeps',
      'alert-evaluation',
      'webhook-deliveries',
      'notifications',
      'schedules',
      'jobs',
    ];
    const swept = 'meridian_background_items_total{worker="sweeps"}';
    // A device that reports once and then falls silent: a sweep will mark it offline.
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beat(agent));
    const before = await scrape();
    for (const worker of workers) {
      expect(before).toContain(`meridian_background_failures_total{worker="${worker}"}`);
      expect(before).toContain(`meridian_background_items_total{worker="${worker}"}`);
    }
    // The sweep's own timer (and the alert evaluation within it); the other workers on demand.
    const { offlineAfterSeconds, sweepIntervalSeconds } = t.server.context.fleet;
    await t.clock.advance((offlineAfterSeconds + sweepIntervalSeconds) * 1000);
    await t.server.deliverWebhooks();
    await t.server.sendNotifications();
    await t.server.runSchedules();
    await t.server.settleJobs();
    const after = await scrape();
    expect(sample(after, swept)).toBeGreaterThan(sample(before, swept));
    for (const worker of workers)
      expect(sample(after, runs(worker))).toBeGreaterThan(sample(before, runs(worker)));
  });

  it('counts the targets of the jobs the jobs worker finished', async () => {
    const site = (await addSite(t)).id;
    const devices = [(await addAgent(t, site)).deviceId, (await addAgent(t, site)).deviceId];
    const handled = 'meridian_background_items_total{worker="jobs"}';
    const before = sample(await scrape(), handled);
    const job = ok(
      await createJob({
        client: t.admin,
        body: {
          command: { type: 'echo', params: { text: 'hi' } },
          target: { device_ids: devices },
          timeout_seconds: 30,
        },
      }),
    );
    // No agent answers: the commands expire, and the worker's pass finishes the job.
    await t.clock.advance(31_000);
    await t.server.settleJobs();
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } })).state).not.toBe('running');
    expect(sample(await scrape(), handled) - before).toBe(2);
  });

  it('is refused without credentials (401) and without the metrics:read scope (403)', async () => {
    expectProblem(await getMetrics({ client: t.client() }), 401, 'unauthenticated');
    const operator = await addMember(t, 'operator', [(await addSite(t)).id]);
    expectProblem(await getMetrics({ client: operator.client }), 403, 'insufficient_scope');
    // An admin's API token with just this scope is what a scraper gets.
    const scraper = await apiToken(t.admin, ['metrics:read']);
    expect(ok(await getMetrics({ client: t.client(scraper) }))).toContain('meridian_http_requests_total');
  });

  it('counts a failed pass, which the logs tell too, and is served while the database fails', async () => {
    const failures = 'meridian_background_failures_total{worker="webhook-deliveries"}';
    const before = sample(await scrape(), failures);
    // Every delivery pass now fails on the table it reads first, and commands cannot be counted.
    await sql`drop table webhook_deliveries`.execute(failing.server.context.db);
    await sql`drop table commands`.execute(failing.server.context.db);
    await failing.server.deliverWebhooks();
    const response = await fetch(failing.server.metricsUrl!);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(sample(text, failures)).toBe(1);
    expect(text).not.toContain('meridian_commands{');
    expect(sample(await scrape(), failures)).toBe(before);
    const logged = failingLog.map(
      (line) => JSON.parse(line) as { level: number; worker?: string; err?: object },
    );
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 50, worker: 'webhook-deliveries', err: expect.any(Object) }),
    );
  });

  it('is served without credentials on the metrics port, and nothing else is', async () => {
    const url = t.server.metricsUrl!;
    expect(new URL(url).port).not.toBe(new URL(t.url).port);
    const metrics = await fetch(url);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('Content-Type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toContain('meridian_http_requests_total');
    expect((await fetch(new URL('/v1/version', url))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
  });
});
