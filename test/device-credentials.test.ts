/**
 * Agent credentials seen and cut off by operators (issue 13 §5): a device's tokens listed without
 * their secrets (created, last used, expires, state), one token revoked (refused at once on this
 * instance, though it was verified a moment before), every device credential of a site revoked,
 * and a new one-time registration token for a pre-registered device.
 */
import { describe, expect, it } from 'vitest';
import {
  enrollAgent,
  getDevice,
  issueDeviceRegistrationToken,
  listDeviceCredentials,
  listEvents,
  refreshAgentToken,
  registerDevice,
  revokeDeviceCredential,
  revokeSiteDeviceCredentials,
  sendAgentHeartbeat,
} from '@meridian/sdk';
import { addAgent, agentFrom, facts, newFingerprint, renewAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, unique } from './support/world';

const t = useTestServer();

const beat = (agent: Agent) =>
  sendAgentHeartbeat({
    client: agent.client,
    body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 5 },
  });
const credentialsOf = async (deviceId: string) =>
  ok(await listDeviceCredentials({ client: t.admin, path: { device_id: deviceId } })).data;

describe('listing a device’s credentials', () => {
  it('shows each token newest first, with when it was created, last used and expires, never a secret', async () => {
    const site = await addSite(t);
    const first = await addAgent(t, site.id);
    ok(await beat(first));
    await t.clock.advance(60_000);
    const renewing = t.clock.now().toISOString();
    const second = await renewAgent(t, first);
    const result = await listDeviceCredentials({ client: t.admin, path: { device_id: first.deviceId } });
    expect(JSON.stringify(result.data)).not.toMatch(/ma[t]_|mr[f]_/);
    const [refresh, access, usedRefresh, firstAccess] = ok(result).data;
    expect(refresh).toMatchObject({ kind: 'refresh', state: 'active', last_used_at: null, revoked_at: null });
    expect(access).toMatchObject({ kind: 'access', state: 'active', last_used_at: null });
    expect(usedRefresh).toMatchObject({ kind: 'refresh', state: 'used' });
    expect(usedRefresh!.last_used_at! >= renewing).toBe(true);
    expect(firstAccess).toMatchObject({ kind: 'access', state: 'active', device_id: first.deviceId });
    expect(firstAccess!.last_used_at! >= firstAccess!.created_at).toBe(true);
    expect(Date.parse(firstAccess!.expires_at) - Date.parse(firstAccess!.created_at)).toBeCloseTo(
      15 * 60_000,
      -2,
    );
    // Used again a minute later: the mark is a hint, written at most every five minutes.
    await t.clock.advance(60_000);
    ok(await beat(first));
    expect((await credentialsOf(first.deviceId))[3]!.last_used_at).toBe(firstAccess!.last_used_at);
    await t.clock.advance(5 * 60_000);
    const beating = t.clock.now().toISOString();
    ok(await beat(second));
    expect((await credentialsOf(first.deviceId))[1]!.last_used_at! >= beating).toBe(true);
    await t.clock.advance(15 * 60_000);
    expect((await credentialsOf(first.deviceId))[3]!.state).toBe('expired');
  });

  it('pages with limit and cursor', async () => {
    const agent = await renewAgent(t, await addAgent(t, (await addSite(t)).id));
    const page = ok(
      await listDeviceCredentials({
        client: t.admin,
        path: { device_id: agent.deviceId },
        query: { limit: 3 },
      }),
    );
    expect(page.data).toHaveLength(3);
    const rest = ok(
      await listDeviceCredentials({
        client: t.admin,
        path: { device_id: agent.deviceId },
        query: { limit: 3, cursor: page.next_cursor! },
      }),
    );
    expect(rest).toMatchObject({ data: [expect.objectContaining({ kind: 'access' })], next_cursor: null });
  });
});

describe('revoking one token', () => {
  it('refuses a revoked access token at once though it was verified a moment ago; the refresh token still works', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beat(agent));
    const access = (await credentialsOf(agent.deviceId)).find((token) => token.kind === 'access')!;
    const revoked = ok(
      await revokeDeviceCredential({
        client: t.admin,
        path: { device_id: agent.deviceId, credential_id: access.id },
      }),
    );
    expect(revoked).toMatchObject({ id: access.id, state: 'revoked', revoked_at: expect.any(String) });
    expectProblem(await beat(agent), 401, 'credentials_revoked');
    ok(await beat(await renewAgent(t, agent)));
  });

  it('cuts the agent off for good when its refresh token is the one revoked', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const refresh = (await credentialsOf(agent.deviceId)).find((token) => token.kind === 'refresh')!;
    ok(
      await revokeDeviceCredential({
        client: t.admin,
        path: { device_id: agent.deviceId, credential_id: refresh.id },
      }),
    );
    expectProblem(
      await refreshAgentToken({
        client: t.client(),
        body: { refresh_token: agent.credentials.refresh_token },
      }),
      401,
      'credentials_revoked',
    );
    ok(await beat(agent));
  });

  it('is 409 for a token already revoked, and 404 for a token of another device', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const other = await addAgent(t, (await addSite(t)).id);
    const [token] = await credentialsOf(agent.deviceId);
    const path = { device_id: agent.deviceId, credential_id: token!.id };
    ok(await revokeDeviceCredential({ client: t.admin, path }));
    expectProblem(await revokeDeviceCredential({ client: t.admin, path }), 409, 'credential_already_revoked');
    expectProblem(
      await revokeDeviceCredential({ client: t.admin, path: { ...path, device_id: other.deviceId } }),
      404,
      'not_found',
    );
  });
});

describe('revoking every device credential of a site', () => {
  it("cuts off every agent of the site at once, leaves other sites' agents alone, and records it per device", async () => {
    const site = await addSite(t);
    const agents = [await addAgent(t, site.id), await renewAgent(t, await addAgent(t, site.id))];
    const elsewhere = await addAgent(t, (await addSite(t)).id);
    for (const agent of [...agents, elsewhere]) ok(await beat(agent));
    const answer = ok(await revokeSiteDeviceCredentials({ client: t.admin, path: { site_id: site.id } }));
    // Every token not revoked yet, the renewed agent's used refresh token included: 2 + 4.
    expect(answer).toEqual({ site_id: site.id, devices: 2, revoked_tokens: 6 });
    for (const agent of agents) {
      expectProblem(await beat(agent), 401, 'credentials_revoked');
      const device = ok(await getDevice({ client: t.admin, path: { device_id: agent.deviceId } }));
      expect(device.credentials_revoked_at).not.toBeNull();
      const events = ok(
        await listEvents({
          client: t.admin,
          query: { device_id: agent.deviceId, type: 'device.credentials_revoked' },
        }),
      ).data;
      expect(events).toHaveLength(1);
    }
    ok(await beat(elsewhere));
    expect(
      ok(await revokeSiteDeviceCredentials({ client: t.admin, path: { site_id: site.id } })),
    ).toMatchObject({ devices: 2, revoked_tokens: 0 });
  });

  it('is 404 for a site the operator cannot see', async () => {
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    const operator = await addMember(t, 'operator', []);
    expectProblem(
      await revokeSiteDeviceCredentials({ client: operator.client, path: { site_id: site.id } }),
      404,
      'not_found',
    );
    ok(await beat(agent));
  });
});

describe('a new registration token for a pre-registered device', () => {
  it('replaces the previous one, which stops working; the new one enrols the device once', async () => {
    const site = await addSite(t);
    const registered = ok(
      await registerDevice({
        client: t.admin,
        body: { name: unique('kiosk'), site_id: site.id, platform: 'linux' },
      }),
    );
    await t.travel(8 * 24 * 60 * 60 * 1000);
    const enrol = (code: string) =>
      enrollAgent({ client: t.client(), body: { code, fingerprint: newFingerprint(), facts: facts() } });
    expectProblem(await enrol(registered.registration_token), 422, 'registration_token_expired');
    const issued = ok(
      await issueDeviceRegistrationToken({ client: t.admin, path: { device_id: registered.device.id } }),
    );
    expect(issued.device_id).toBe(registered.device.id);
    expect(Date.parse(issued.registration_expires_at) - t.clock.now().getTime()).toBeCloseTo(
      7 * 24 * 60 * 60 * 1000,
      -3,
    );
    expect(issued.registration_token).toMatch(/^mrt_/);
    const again = ok(
      await issueDeviceRegistrationToken({ client: t.admin, path: { device_id: registered.device.id } }),
    );
    expectProblem(await enrol(issued.registration_token), 422, 'enrollment_code_invalid');
    const enrolled = await enrol(again.registration_token);
    expect(enrolled.response.status).toBe(201);
    const agent = agentFrom(t, (enrolled.data as { credentials: Agent['credentials'] }).credentials);
    expect(agent.deviceId).toBe(registered.device.id);
    ok(await beat(agent));
    expectProblem(
      await issueDeviceRegistrationToken({ client: t.admin, path: { device_id: registered.device.id } }),
      409,
      'device_already_enrolled',
    );
  });
});
