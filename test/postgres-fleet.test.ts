/**
 * The fleet on PostgreSQL: the queries that lean on the engine — RETURNING on conditional
 * updates (delivery, expiry, the offline sweep), ON CONFLICT (inventory), grouped counts with
 * CASE (stats, unacknowledged events), subqueries in UPDATE and DELETE (bulk acknowledgement,
 * keeping the last screenshots), double-precision metrics and bigint uptimes — through the SDK
 * against a throwaway cluster.
 */
import { describe, expect, it } from 'vitest';
import {
  acknowledgeEvents,
  approveEnrollmentRequest,
  countUnacknowledgedEvents,
  createCommand,
  createMonitoredProcess,
  getDevice,
  getDeviceInventory,
  getDeviceMetrics,
  getDeviceStats,
  listDeviceScreenshots,
  listEvents,
  pollAgentCommands,
  pollAgentEnrollment,
  refreshAgentToken,
  reportAgentCommandResult,
  sendAgentHeartbeat,
  uploadAgentInventory,
  uploadAgentScreenshot,
} from '@meridian/sdk';
import { addAgent, addCode, agentFrom, jpegBody } from './support/agents';
import { usePostgresServer } from './support/postgres';
import { ok } from './support/server';
import { addSite, requestEnrollment } from './support/world';

const t = usePostgresServer();

describe('the fleet on PostgreSQL', () => {
  it('enrols through the queue, heartbeats, runs a command by long-poll and goes offline', async () => {
    const site = await addSite(t);
    const pending = await requestEnrollment(t, await addCode(t, site.id));
    const deviceId = ok(
      await approveEnrollmentRequest({ client: t.admin, path: { request_id: pending.request_id }, body: {} }),
    ).device_id!;
    const agent = agentFrom(
      t,
      ok(
        await pollAgentEnrollment({
          client: t.client(),
          body: { request_id: pending.request_id, poll_token: pending.poll_token },
        }),
      ).credentials!,
    );
    ok(
      await sendAgentHeartbeat({
        client: agent.client,
        body: {
          status: 'ok',
          agent_version: '1',
          uptime_seconds: 3_000_000_000,
          metrics: { cpu_percent: 12.34, memory_percent: 50, disk_percent: 75.5 },
        },
      }),
    );
    expect(ok(await getDevice({ client: t.admin, path: { device_id: deviceId } }))).toMatchObject({
      status: 'online',
      uptime_seconds: 3_000_000_000,
      metrics: { cpu_percent: 12.34 },
    });
    expect(
      ok(
        await getDeviceMetrics({
          client: t.admin,
          path: { device_id: deviceId },
          query: { metric: 'cpu_percent', range: '1h', max_points: 1 },
        }),
      ).points,
    ).toEqual([expect.objectContaining({ min: 12.34, max: 12.34, samples: 1 })]);
    expect(ok(await getDeviceStats({ client: t.admin, query: { site_id: site.id } }))).toMatchObject({
      total: 1,
      by_status: { online: 1 },
      by_site: [{ site_id: site.id, total: 1, online: 1 }],
    });

    const polling = pollAgentCommands({ client: agent.client, query: { wait_seconds: 30 } });
    await t.clock.waitingOn('agent-commands');
    const command = ok(
      await createCommand({
        client: t.admin,
        body: { device_id: deviceId, type: 'echo', params: { text: 'hi' } },
      }),
    );
    expect(ok(await polling).data.map((c) => c.id)).toEqual([command.id]);
    expect(
      ok(
        await reportAgentCommandResult({
          client: agent.client,
          path: { command_id: command.id },
          body: { status: 'failed', exit_code: 2, duration_ms: 3 },
        }),
      ).status,
    ).toBe('failed');

    await t.travel(4 * 60 * 1000);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: deviceId } })).status).toBe('offline');
    const types = ok(await listEvents({ client: t.admin, query: { site_id: site.id, limit: 100 } })).data.map(
      (e) => e.type,
    );
    expect(types).toEqual([
      'enrollment.requested',
      'device.enrolled',
      'device.online',
      'command.failed',
      'device.offline',
    ]);
    expect(ok(await countUnacknowledgedEvents({ client: t.admin, query: { site_id: site.id } }))).toEqual({
      count: 5,
      by_severity: { info: 3, warning: 1, error: 1, critical: 0 },
    });
    expect(
      ok(
        await acknowledgeEvents({
          client: t.admin,
          body: { filter: { site_id: site.id, severity: 'info' } },
        }),
      ).acknowledged_count,
    ).toBe(3);
  });

  it('replaces inventories, keeps the last screenshots, refuses duplicate process names and catches a reused refresh token', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    for (const software of [[{ name: 'A' }], [{ name: 'B' }]])
      ok(
        await uploadAgentInventory({ client: agent.client, body: { hardware: {}, software, services: [] } }),
      );
    expect(
      ok(await getDeviceInventory({ client: t.admin, path: { device_id: agent.deviceId } })).software,
    ).toEqual([{ name: 'B' }]);
    for (let i = 0; i < 21; i++) ok(await uploadAgentScreenshot({ client: agent.client, ...jpegBody() }));
    expect(
      ok(await listDeviceScreenshots({ client: t.admin, path: { device_id: agent.deviceId } })).data,
    ).toHaveLength(20);
    ok(
      await createMonitoredProcess({
        client: t.admin,
        path: { device_id: agent.deviceId },
        body: { name: 'Player', executable_path: '/bin/player' },
      }),
    );
    expect(
      (
        await createMonitoredProcess({
          client: t.admin,
          path: { device_id: agent.deviceId },
          body: { name: 'player', executable_path: '/bin/player' },
        })
      ).response.status,
    ).toBe(409);
    ok(
      await refreshAgentToken({
        client: t.client(),
        body: { refresh_token: agent.credentials.refresh_token },
      }),
    );
    const reused = await refreshAgentToken({
      client: t.client(),
      body: { refresh_token: agent.credentials.refresh_token },
    });
    expect(reused.error).toMatchObject({ code: 'refresh_token_reused' });
  });
});
