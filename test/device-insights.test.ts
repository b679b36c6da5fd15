/**
 * What operators read about devices beyond the device itself: fleet counts, metric history
 * downsampled into buckets (samples placed with the test clock), and the last inventory.
 */
import { describe, expect, it } from 'vitest';
import {
  getDeviceInventory,
  getDeviceMetrics,
  getDeviceStats,
  registerDevice,
  sendAgentHeartbeat,
  uploadAgentInventory,
  type DeviceMetrics,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite } from './support/world';

const t = useTestServer();

const beat = (agent: Agent, metrics?: DeviceMetrics, status: 'ok' | 'degraded' = 'ok') =>
  sendAgentHeartbeat({
    client: agent.client,
    body: { status, agent_version: '1', uptime_seconds: 1, ...(metrics ? { metrics } : {}) },
  });

describe('device stats', () => {
  it('count devices by status, platform and site, within the sites one can see', async () => {
    const site = await addSite(t);
    const other = await addSite(t);
    const [online, degraded] = [await addAgent(t, site.id), await addAgent(t, site.id)];
    await addAgent(t, site.id);
    ok(await registerDevice({ client: t.admin, body: { name: 'Mac', site_id: site.id, platform: 'macos' } }));
    await addAgent(t, other.id);
    ok(await beat(online));
    ok(await beat(degraded, undefined, 'degraded'));
    const stats = ok(await getDeviceStats({ client: t.admin, query: { site_id: site.id } }));
    expect(stats).toEqual({
      total: 4,
      by_status: { pending: 2, online: 1, offline: 0, degraded: 1 },
      by_platform: { windows: 0, macos: 1, linux: 3, other: 0 },
      by_site: [{ site_id: site.id, total: 4, online: 2 }],
    });
    const viewer = await addMember(t, 'viewer', [other.id]);
    const theirs = ok(await getDeviceStats({ client: viewer.client }));
    expect(theirs.total).toBe(1);
    expect(theirs.by_site.map((entry) => entry.site_id)).toEqual([other.id]);
  });
});

describe('metric history', () => {
  it('buckets the samples of a window into min, average and maximum', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const start = t.clock.now();
    for (const cpu of [10, 20, 30, 40, 50]) {
      ok(await beat(agent, { cpu_percent: cpu, memory_percent: 100 - cpu, disk_percent: 50 }));
      await t.clock.advance(30_000);
    }
    ok(await beat(agent));
    const end = new Date(start.getTime() + 150_000).toISOString();
    const series = ok(
      await getDeviceMetrics({
        client: t.admin,
        path: { device_id: agent.deviceId },
        query: { metric: 'cpu_percent', start: start.toISOString(), end, max_points: 3 },
      }),
    );
    expect(series).toMatchObject({
      device_id: agent.deviceId,
      metric: 'cpu_percent',
      start: start.toISOString(),
      end,
      bucket_seconds: 50,
    });
    expect(series.points.map(({ min, avg, max, samples }) => ({ min, avg, max, samples }))).toEqual([
      { min: 10, avg: 15, max: 20, samples: 2 },
      { min: 30, avg: 35, max: 40, samples: 2 },
      { min: 50, avg: 50, max: 50, samples: 1 },
    ]);
    expect(series.points.map((point) => point.start)).toEqual(
      [0, 50, 100].map((s) => new Date(start.getTime() + s * 1000).toISOString()),
    );
    const memory = ok(
      await getDeviceMetrics({
        client: t.admin,
        path: { device_id: agent.deviceId },
        query: { metric: 'memory_percent', range: '1h', max_points: 1 },
      }),
    );
    expect(memory.bucket_seconds).toBe(3600);
    expect(memory.points).toEqual([expect.objectContaining({ min: 50, max: 90, avg: 70, samples: 5 })]);
  });

  it('keeps 30 days of history', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const beaten = t.clock.now().getTime();
    ok(await beat(agent, { cpu_percent: 5, memory_percent: 5, disk_percent: 5 }));
    const DAY = 24 * 60 * 60 * 1000;
    // A 40-day window that holds the sample: only the retention can leave it out.
    const query = {
      metric: 'disk_percent' as const,
      start: new Date(beaten - DAY).toISOString(),
      end: new Date(beaten + 39 * DAY).toISOString(),
    };
    await t.travel(29 * DAY);
    expect(
      ok(await getDeviceMetrics({ client: t.admin, path: { device_id: agent.deviceId }, query })).points,
    ).toHaveLength(1);
    await t.travel(2 * DAY);
    expect(
      ok(await getDeviceMetrics({ client: t.admin, path: { device_id: agent.deviceId }, query })).points,
    ).toEqual([]);
  });

  it('refuses a range with start or end, an end before the start, and windows over 90 days (422)', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const now = t.clock.now().getTime();
    const iso = (offsetDays: number) => new Date(now + offsetDays * 24 * 60 * 60 * 1000).toISOString();
    for (const [query, code] of [
      [{ range: '1h', start: iso(-1) }, 'ambiguous_window'],
      [{ start: iso(0), end: iso(-1) }, 'empty_window'],
      [{ start: iso(-91), end: iso(0) }, 'window_too_long'],
    ] as const) {
      const refused = await getDeviceMetrics({
        client: t.admin,
        path: { device_id: agent.deviceId },
        query: { metric: 'cpu_percent', ...query },
      });
      expectProblem(refused, 422, code);
    }
  });
});

describe('inventory', () => {
  it('is 404 until the agent reports one, then shows the last report', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const missing = await getDeviceInventory({ client: t.admin, path: { device_id: agent.deviceId } });
    expectProblem(missing, 404, 'inventory_not_reported');
    const first = ok(
      await uploadAgentInventory({
        client: agent.client,
        body: {
          hardware: { model: 'OptiPlex 7010', cpu_cores: 8 },
          software: [{ name: 'TouchDesigner', version: '2023.11880' }],
          services: [{ name: 'Spooler', state: 'running' }],
        },
      }),
    );
    expect(first).toMatchObject({
      device_id: agent.deviceId,
      hardware: { model: 'OptiPlex 7010', cpu_cores: 8 },
      software: [{ name: 'TouchDesigner', version: '2023.11880' }],
    });
    expect(ok(await getDeviceInventory({ client: t.admin, path: { device_id: agent.deviceId } }))).toEqual(
      first,
    );
    await t.clock.advance(60_000);
    const second = ok(
      await uploadAgentInventory({
        client: agent.client,
        body: {
          hardware: {},
          software: [],
          services: [{ name: 'Spooler', state: 'stopped', start_mode: 'disabled' }],
        },
      }),
    );
    const read = ok(await getDeviceInventory({ client: t.admin, path: { device_id: agent.deviceId } }));
    expect(read).toEqual(second);
    expect(read.software).toEqual([]);
    expect(Date.parse(read.reported_at)).toBeGreaterThan(Date.parse(first.reported_at));
  });
});
