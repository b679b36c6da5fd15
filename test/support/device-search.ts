/**
 * The device list's text search (`q`), the same on SQLite (FTS5 trigram index, LIKE under three
 * characters) and PostgreSQL (LIKE served by pg_trgm): a substring of the name or hostname,
 * ignoring case, every character literal, kept up to date as devices are renamed, report a new
 * hostname or are deleted, and limited to the caller's sites.
 */
import { expect } from 'vitest';
import {
  deleteDevice,
  enrollAgent,
  listDevices,
  registerDevice,
  sendAgentHeartbeat,
  updateDevice,
  type Client,
} from '@meridian/sdk';
import { addCode, facts, newFingerprint } from './agents';
import { ok, type TestServer } from './server';
import { addMember, addSite, unique } from './world';

export async function expectDeviceSearch(t: TestServer): Promise<void> {
  const site = await addSite(t);
  const other = await addSite(t);
  const stem = unique('Srch');
  const register = async (name: string, siteId = site.id) =>
    ok(await registerDevice({ client: t.admin, body: { name, site_id: siteId, platform: 'linux' } })).device
      .id;
  const lobby = await register(`${stem} Lobby "A" 100%_kiosk`);
  const plain = await register(`${stem} 1000 kiosk`);
  const elsewhere = await register(`${stem} Depot kiosk`, other.id);
  const code = await addCode(t, site.id, { auto_approve: true });
  const enrolled = await enrollAgent({
    client: t.client(),
    body: { code, fingerprint: newFingerprint(), facts: facts({ hostname: `${stem}-HOST-7.example` }) },
  });
  const agent = (enrolled.data as { credentials: { device_id: string; access_token: string } }).credentials;
  // Named after its hostname at enrolment; renamed, only its hostname holds the stem.
  ok(await updateDevice({ client: t.admin, path: { device_id: agent.device_id }, body: { name: 'Agent' } }));

  const ids = async (q: string, client: Client = t.admin) =>
    ok(await listDevices({ client, query: { q, limit: 500 } }))
      .data.map((device) => device.id)
      .filter((id) => [lobby, plain, elsewhere, agent.device_id].includes(id));
  expect(await ids(stem.toLowerCase())).toEqual([lobby, plain, elsewhere, agent.device_id]);
  expect(await ids(`${stem} LOBBY`)).toEqual([lobby]);
  expect(await ids(`${stem.toUpperCase()}-host-7`)).toEqual([agent.device_id]);
  expect(await ids(`${stem} Lobby "a" 100%_K`)).toEqual([lobby]);
  // Wildcards and quotes are literal, also in text too short for the trigram index.
  expect(await ids('"a" 100%_k')).toEqual([lobby]);
  expect(await ids('0%')).toEqual([lobby]);
  expect(await ids('_')).toEqual([lobby]);
  expect(await ids('"')).toEqual([lobby]);

  const renamed = unique('Renamed');
  ok(await updateDevice({ client: t.admin, path: { device_id: plain }, body: { name: renamed } }));
  expect(await ids(`${stem} 1000`)).toEqual([]);
  expect(await ids(renamed.toUpperCase())).toEqual([plain]);
  ok(
    await sendAgentHeartbeat({
      client: t.client(agent.access_token),
      body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60, hostname: `${stem}-moved.example` },
    }),
  );
  expect(await ids(`${stem}-host`)).toEqual([]);
  expect(await ids(`${stem}-MOVED`)).toEqual([agent.device_id]);
  ok(await deleteDevice({ client: t.admin, path: { device_id: lobby } }));
  expect(await ids(stem)).toEqual([elsewhere, agent.device_id]);

  const viewer = await addMember(t, 'viewer', [other.id]);
  expect(await ids(stem, viewer.client)).toEqual([elsewhere]);
  expect(await ids('kiosk', viewer.client)).toEqual([elsewhere]);
}
