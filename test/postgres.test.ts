/**
 * The same server on PostgreSQL (DATABASE_URL) instead of SQLite: the queries whose behaviour
 * differs most between engines — case-insensitive uniqueness, literal text search, cursor
 * pagination, conditional updates, ON CONFLICT for idempotency keys, foreign keys — through the
 * SDK against a throwaway cluster.
 */
import { describe, expect, it } from 'vitest';
import {
  createSite,
  deleteSite,
  getDevice,
  getSite,
  getVersion,
  listDevices,
  listSites,
  updateDevice,
  updateSite,
} from '@meridian/sdk';
import { expectDeviceSearch } from './support/device-search';
import { usePostgresServer } from './support/postgres';
import { ok } from './support/server';
import { addDevice, addMember, addSite, apiToken, unique } from './support/world';

const t = usePostgresServer();

describe('on PostgreSQL', () => {
  it('reports the engine it runs on', async () => {
    expect(ok(await getVersion({ client: t.admin })).database).toBe('postgres');
  });

  it('keeps site names unique regardless of case, and searches text literally', async () => {
    const stem = unique('Porto');
    const site = ok(await createSite({ client: t.admin, body: { name: `${stem} 100%_dock` } }));
    ok(await createSite({ client: t.admin, body: { name: `${stem} 1000 dock` } }));
    expect(
      (await createSite({ client: t.admin, body: { name: site.name.toUpperCase() } })).response.status,
    ).toBe(409);
    expect(ok(await listSites({ client: t.admin, query: { q: '100%_D' } })).data.map((s) => s.id)).toEqual([
      site.id,
    ]);
  });

  it('searches device names and hostnames as on SQLite (pg_trgm indexes)', async () => {
    await expectDeviceSearch(t);
  });

  it('applies concurrent updates sent without If-Match one after another, never answering 412', async () => {
    const site = await addSite(t);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        updateSite({ client: t.admin, path: { site_id: site.id }, body: { description: `Writer ${i}` } }),
      ),
    );
    expect(results.map((result) => result.response.status)).toEqual(Array(8).fill(200));
    expect(new Set(results.map((result) => result.response.headers.get('etag'))).size).toBe(8);
    const final = await getSite({ client: t.admin, path: { site_id: site.id } });
    expect(final.response.headers.get('etag')).toBe('"9"');
  });

  it('pages, updates under If-Match, scopes by site and replays idempotent creates', async () => {
    const site = await addSite(t);
    const devices = [await addDevice(t, site.id), await addDevice(t, site.id), await addDevice(t, site.id)];
    const first = ok(await listDevices({ client: t.admin, query: { site_id: site.id, limit: 2 } }));
    const second = ok(
      await listDevices({
        client: t.admin,
        query: { site_id: site.id, limit: 2, cursor: first.next_cursor! },
      }),
    );
    expect([...first.data, ...second.data].map((d) => d.id)).toEqual(devices.map((d) => d.id));
    expect(second.next_cursor).toBeNull();

    const etag = (
      await getDevice({ client: t.admin, path: { device_id: devices[0]!.id } })
    ).response.headers.get('etag')!;
    expect(
      ok(
        await updateDevice({
          client: t.admin,
          path: { device_id: devices[0]!.id },
          headers: { 'If-Match': etag },
          body: { tags: ['pg'] },
        }),
      ).tags,
    ).toEqual(['pg']);
    expect(
      (
        await updateDevice({
          client: t.admin,
          path: { device_id: devices[0]!.id },
          headers: { 'If-Match': etag },
          body: { tags: [] },
        })
      ).response.status,
    ).toBe(412);

    const viewer = await addMember(t, 'viewer', [site.id]);
    const token = await apiToken(viewer.client, ['devices:read']);
    expect(ok(await listDevices({ client: t.client(token), query: { limit: 500 } })).data).toHaveLength(3);

    const key = crypto.randomUUID();
    const name = unique('Replayed');
    const created = ok(
      await createSite({ client: t.admin, body: { name }, headers: { 'Idempotency-Key': key } }),
    );
    const replay = await createSite({ client: t.admin, body: { name }, headers: { 'Idempotency-Key': key } });
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(ok(replay).id).toBe(created.id);

    expect((await deleteSite({ client: t.admin, path: { site_id: site.id } })).response.status).toBe(409);
  });
});
