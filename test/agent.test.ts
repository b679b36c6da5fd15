/**
 * The agent protocol after enrolment: rotating credentials (a reused refresh token revokes
 * everything), revoked and deleted devices, heartbeats that report the machine's state, and the
 * offline sweep — driven by the test clock, so nothing here waits for real time.
 */
import { describe, expect, it } from 'vitest';
import {
  deleteDevice,
  getDevice,
  listEvents,
  refreshAgentToken,
  revokeDeviceCredentials,
  sendAgentEvent,
  sendAgentHeartbeat,
  updateDevice,
  type AgentHeartbeat,
} from '@meridian/sdk';
import { addAgent, renewAgent, type Agent } from './support/agents';
import { ok, startTestServer } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

const MINUTE = 60 * 1000;

const t = useTestServer();

const beat = (agent: Agent, body: Partial<AgentHeartbeat> = {}) =>
  sendAgentHeartbeat({
    client: agent.client,
    body: { status: 'ok', agent_version: '1.2.0', uptime_seconds: 120, ...body },
  });

async function eventsOf(deviceId: string): Promise<{ type: string; severity: string }[]> {
  return ok(await listEvents({ client: t.admin, query: { device_id: deviceId, limit: 500 } })).data.map(
    ({ type, severity }) => ({ type, severity }),
  );
}

describe('credentials', () => {
  it('rotate: a refresh gives a new pair, and the old refresh token no longer works', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const renewed = await renewAgent(t, agent);
    expect(renewed.deviceId).toBe(agent.deviceId);
    expect(renewed.credentials.access_token).not.toBe(agent.credentials.access_token);
    expect(renewed.credentials.refresh_token).not.toBe(agent.credentials.refresh_token);
    expect(ok(await beat(renewed)).device_id).toBe(agent.deviceId);
  });

  it('reusing a refresh token revokes every token of the device and records the theft', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const renewed = await renewAgent(t, agent);
    // Verified once, so this instance caches the token: the revocation must still apply at once.
    ok(await beat(renewed));
    const replay = await refreshAgentToken({
      client: t.client(),
      body: { refresh_token: agent.credentials.refresh_token },
    });
    expectProblem(replay, 401, 'refresh_token_reused');
    const refused = await beat(renewed);
    expectProblem(refused, 401, 'credentials_revoked');
    const legit = await refreshAgentToken({
      client: t.client(),
      body: { refresh_token: renewed.credentials.refresh_token },
    });
    expect(legit.error).toMatchObject({ code: 'credentials_revoked' });
    expect(await eventsOf(agent.deviceId)).toContainEqual({
      type: 'device.token_reuse_detected',
      severity: 'critical',
    });
  });

  it('access tokens expire after 15 minutes (token_expired) and refresh tokens after 30 days', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    await t.travel(16 * MINUTE);
    const expired = await beat(agent);
    expectProblem(expired, 401, 'token_expired');
    const renewed = await renewAgent(t, agent);
    expect((await beat(renewed)).response.status).toBe(200);
    await t.travel(31 * 24 * 60 * MINUTE);
    const late = await refreshAgentToken({
      client: t.client(),
      body: { refresh_token: renewed.credentials.refresh_token },
    });
    expectProblem(late, 401, 'token_expired');
  });

  it('an unknown refresh token is 401 invalid_refresh_token', async () => {
    const result = await refreshAgentToken({
      client: t.client(),
      body: { refresh_token: `mrf_${'x'.repeat(43)}` },
    });
    expectProblem(result, 401, 'invalid_refresh_token');
  });

  it('an operator can revoke them: the agent gets credentials_revoked everywhere, the device stays', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beat(agent));
    const revoked = ok(
      await revokeDeviceCredentials({ client: t.admin, path: { device_id: agent.deviceId } }),
    );
    expect(revoked.credentials_revoked_at).not.toBeNull();
    expect((await beat(agent)).error).toMatchObject({ code: 'credentials_revoked' });
    expect(
      (
        await refreshAgentToken({
          client: t.client(),
          body: { refresh_token: agent.credentials.refresh_token },
        })
      ).error,
    ).toMatchObject({ code: 'credentials_revoked' });
    expect(ok(await getDevice({ client: t.admin, path: { device_id: agent.deviceId } })).id).toBe(
      agent.deviceId,
    );
    expect(await eventsOf(agent.deviceId)).toContainEqual({
      type: 'device.credentials_revoked',
      severity: 'warning',
    });
  });

  it('a deleted device is told so (device_deleted), on every agent call and on refresh', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beat(agent));
    expect(
      (await deleteDevice({ client: t.admin, path: { device_id: agent.deviceId } })).response.status,
    ).toBe(204);
    expect((await beat(agent)).error).toMatchObject({ code: 'device_deleted' });
    expect(
      (
        await refreshAgentToken({
          client: t.client(),
          body: { refresh_token: agent.credentials.refresh_token },
        })
      ).error,
    ).toMatchObject({ code: 'device_deleted' });
  });

  it('a device moved to another site reports into that site at once, though its token was just verified', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beat(agent));
    const elsewhere = await addSite(t);
    ok(
      await updateDevice({
        client: t.admin,
        path: { device_id: agent.deviceId },
        body: { site_id: elsewhere.id },
      }),
    );
    const event = ok(
      await sendAgentEvent({
        client: agent.client,
        body: { type: 'moved', severity: 'info', message: 'Reporting from the new site' },
      }),
    );
    expect(event.site_id).toBe(elsewhere.id);
  });
});

describe('heartbeats and presence', () => {
  it('bring the device online with what the agent reports, and answer with the next interval', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: agent.deviceId } })).status).toBe(
      'pending',
    );
    const ack = ok(
      await beat(agent, {
        uptime_seconds: 86_400,
        hostname: 'renamed-host',
        os_name: 'Debian',
        os_version: '12',
        timezone: 'America/Sao_Paulo',
        addresses: ['10.1.2.3', 'fe80::1'],
        metrics: { cpu_percent: 17.5, memory_percent: 40, disk_percent: 91 },
      }),
    );
    expect(ack).toMatchObject({
      device_id: agent.deviceId,
      status: 'online',
      next_heartbeat_seconds: 60,
      pending_commands: 0,
    });
    expect(Math.abs(Date.parse(ack.server_time) - t.clock.now().getTime())).toBeLessThan(5000);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: agent.deviceId } }))).toMatchObject({
      status: 'online',
      hostname: 'renamed-host',
      agent_version: '1.2.0',
      os_name: 'Debian',
      os_version: '12',
      timezone: 'America/Sao_Paulo',
      uptime_seconds: 86_400,
      addresses: ['10.1.2.3', 'fe80::1'],
      metrics: { cpu_percent: 17.5, memory_percent: 40, disk_percent: 91 },
      last_seen_at: ack.server_time,
    });
    expect(await eventsOf(agent.deviceId)).toEqual([
      { type: 'device.enrolled', severity: 'info' },
      { type: 'device.online', severity: 'info' },
    ]);
  });

  it('mark the device degraded when the agent reports a problem, and online again after', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beat(agent));
    expect(ok(await beat(agent, { status: 'degraded' })).status).toBe('degraded');
    expect(ok(await getDevice({ client: t.admin, path: { device_id: agent.deviceId } })).status).toBe(
      'degraded',
    );
    expect(ok(await beat(agent)).status).toBe('online');
    expect((await eventsOf(agent.deviceId)).map((e) => e.type)).toEqual([
      'device.enrolled',
      'device.online',
      'device.degraded',
      'device.online',
    ]);
  });

  it('stop: the sweep marks the device offline after the threshold, once, and the next heartbeat brings it back', async () => {
    const site = await addSite(t);
    const quiet = await addAgent(t, site.id);
    const chatty = await addAgent(t, site.id);
    ok(await beat(quiet));
    ok(await beat(chatty));
    await t.travel(2 * MINUTE);
    ok(await beat(chatty));
    expect(ok(await getDevice({ client: t.admin, path: { device_id: quiet.deviceId } })).status).toBe(
      'online',
    );
    await t.travel(2 * MINUTE);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: quiet.deviceId } })).status).toBe(
      'offline',
    );
    expect(ok(await getDevice({ client: t.admin, path: { device_id: chatty.deviceId } })).status).toBe(
      'online',
    );
    await t.travel(10 * MINUTE);
    expect((await eventsOf(quiet.deviceId)).filter((e) => e.type === 'device.offline')).toEqual([
      { type: 'device.offline', severity: 'warning' },
    ]);

    const renewed = await renewAgent(t, quiet);
    expect(ok(await beat(renewed)).status).toBe('online');
    expect((await eventsOf(quiet.deviceId)).map((e) => e.type)).toEqual([
      'device.enrolled',
      'device.online',
      'device.offline',
      'device.online',
    ]);
  });
});

describe('the offline threshold', () => {
  it('is configurable', async () => {
    const quick = await startTestServer({ fleet: { offlineAfterSeconds: 30, sweepIntervalSeconds: 10 } });
    try {
      const agent = await addAgent(quick, (await addSite(quick)).id);
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1', uptime_seconds: 1 },
        }),
      );
      await quick.travel(45 * 1000);
      expect(ok(await getDevice({ client: quick.admin, path: { device_id: agent.deviceId } })).status).toBe(
        'offline',
      );
    } finally {
      await quick.close();
    }
  });
});
