/**
 * Agent credentials with two instances on one PostgreSQL database: an access token verified by
 * one instance a moment ago is refused there as soon as the other revokes it, revokes every
 * credential of its site, or deletes its device (the verified-credential cache is forgotten on
 * every instance through LISTEN/NOTIFY, not only on the one that made the change).
 */
import { describe, expect, it } from 'vitest';
import {
  deleteDevice,
  listDeviceCredentials,
  revokeDeviceCredential,
  revokeSiteDeviceCredentials,
  sendAgentHeartbeat,
} from '@meridian/sdk';
import { type Agent, addAgent, agentFrom } from './support/agents';
import { heardBy, usePostgresInstances } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok, type TestServer } from './support/server';
import { addSite } from './support/world';

const [t, second] = usePostgresInstances();

/** A heartbeat of `agent` sent to the instance `at`. */
const beatAt = (at: TestServer, agent: Agent) =>
  sendAgentHeartbeat({
    client: agentFrom(at, agent.credentials).client,
    body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 5 },
  });

describe('agent credentials across instances', () => {
  it('refuses on one instance an access token the other revoked, though it had just verified it', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beatAt(second, agent));
    const credentials = ok(
      await listDeviceCredentials({ client: t.admin, path: { device_id: agent.deviceId } }),
    );
    const access = credentials.data.find((token) => token.kind === 'access')!;
    ok(
      await revokeDeviceCredential({
        client: t.admin,
        path: { device_id: agent.deviceId, credential_id: access.id },
      }),
    );
    await heardBy(t, second);
    expectProblem(await beatAt(second, agent), 401, 'credentials_revoked');
  });

  it('refuses on one instance the agents of a site whose credentials the other revoked', async () => {
    const site = await addSite(t);
    const agents = [await addAgent(t, site.id), await addAgent(t, site.id)];
    for (const agent of agents) ok(await beatAt(second, agent));
    expect(
      ok(await revokeSiteDeviceCredentials({ client: t.admin, path: { site_id: site.id } })).devices,
    ).toBe(2);
    await heardBy(t, second);
    for (const agent of agents) expectProblem(await beatAt(second, agent), 401, 'credentials_revoked');
  });

  it('refuses on one instance the agent of a device the other deleted', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    ok(await beatAt(t, agent));
    const deleted = await deleteDevice({ client: second.admin, path: { device_id: agent.deviceId } });
    expect(deleted.response.status).toBe(204);
    await heardBy(second, t);
    expectProblem(await beatAt(t, agent), 401, 'device_deleted');
  });
});
