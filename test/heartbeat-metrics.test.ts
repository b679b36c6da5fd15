/**
 * Heartbeat metric samples are written in batches (server-stub/src/fleet/metric-samples.ts): on a
 * timer, when enough are buffered and when the server closes. Reads of the history on the same
 * instance see every sample received, and a clean close loses none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getDeviceMetrics, sendAgentHeartbeat } from '@meridian/sdk';
import { FLUSH_DELAY_MS } from '../server-stub/src/fleet/metric-samples';
import { addAgent, type Agent } from './support/agents';
import { ok, startTestServer, type TestServer } from './support/server';
import { addSite } from './support/world';

const beat = (agent: Agent, cpu: number) =>
  sendAgentHeartbeat({
    client: agent.client,
    body: {
      status: 'ok',
      agent_version: '1.2.0',
      uptime_seconds: 60,
      metrics: { cpu_percent: cpu, memory_percent: 40, disk_percent: 50 },
    },
  });

const cpuSamples = async (t: TestServer, agent: Agent) =>
  ok(
    await getDeviceMetrics({
      client: t.admin,
      path: { device_id: agent.deviceId },
      query: { metric: 'cpu_percent', range: '1h', max_points: 1 },
    }),
  ).points.reduce((sum, point) => sum + point.samples, 0);

describe('batched metric samples', () => {
  const directory = mkdtempSync(join(tmpdir(), 'meridian-heartbeat-metrics-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('are read by the history before their batch is due', async () => {
    const t = await startTestServer();
    try {
      const agent = await addAgent(t, (await addSite(t)).id);
      for (const cpu of [10, 20, 30]) ok(await beat(agent, cpu));
      await t.clock.advance(FLUSH_DELAY_MS / 2);
      expect(await cpuSamples(t, agent)).toBe(3);
    } finally {
      await t.close();
    }
  });

  it('are all written when the server closes', async () => {
    const database = join(directory, 'meridian.sqlite');
    const first = await startTestServer({ database });
    const agent = await addAgent(first, (await addSite(first)).id);
    for (const cpu of [10, 20, 30, 40]) ok(await beat(agent, cpu));
    await first.close();
    const again = await startTestServer({ database });
    try {
      expect(await cpuSamples(again, agent)).toBe(4);
    } finally {
      await again.close();
    }
  });
});
