import { describe, expect, it } from 'vitest';
import {
  createSite,
  deleteDevice,
  deleteSite,
  getCurrentUser,
  getSite,
  listSites,
  updateSite,
  updateUser,
  type Site,
} from '@meridian/sdk';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite, unique } from './support/world';

const t = useTestServer();

describe('sites', () => {
  it('creates a site with an ETag, and refuses a duplicate name in any case (409)', async () => {
    const name = unique('Lisbon office');
    const created = await createSite({ client: t.admin, body: { name, description: 'Rua do Ouro 12' } });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    expect(ok(created)).toMatchObject({ name, description: 'Rua do Ouro 12', device_count: 0 });
    const duplicate = await createSite({ client: t.admin, body: { name: name.toUpperCase() } });
    expectProblem(duplicate, 409, 'site_name_taken');
  });

  it('searches by name, treating % and _ literally', async () => {
    const stem = unique('Porto');
    const porto = ok(await createSite({ client: t.admin, body: { name: `${stem} 100%_dock` } }));
    ok(await createSite({ client: t.admin, body: { name: `${stem} 1000 dock` } }));
    const found = ok(await listSites({ client: t.admin, query: { q: '100%_D' } })).data;
    expect(found.map((site) => site.id)).toEqual([porto.id]);
  });

  it('pages through every site exactly once', async () => {
    for (let i = 0; i < 5; i++) await addSite(t);
    const seen: Site[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(
        await listSites({ client: t.admin, query: { limit: 2, ...(cursor ? { cursor } : {}) } }),
      );
      seen.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    const all = ok(await listSites({ client: t.admin, query: { limit: 500 } })).data;
    expect(seen.map((site) => site.id)).toEqual(all.map((site) => site.id));
  });

  it('refuses a cursor it did not issue with 400', async () => {
    const result = await listSites({ client: t.admin, query: { cursor: 'not-a-cursor' } });
    expect(expectProblem(result, 400, 'validation_failed')).toMatchObject({
      errors: [{ path: '/query/cursor' }],
    });
  });

  it('updates with If-Match; a stale ETag is 412 and a taken name 409, changing nothing', async () => {
    const site = await addSite(t);
    const other = await addSite(t);
    const etag = (await getSite({ client: t.admin, path: { site_id: site.id } })).response.headers.get(
      'etag',
    )!;
    const updated = await updateSite({
      client: t.admin,
      path: { site_id: site.id },
      headers: { 'If-Match': etag },
      body: { description: 'Rooftop' },
    });
    expect(ok(updated).description).toBe('Rooftop');
    const stale = await updateSite({
      client: t.admin,
      path: { site_id: site.id },
      headers: { 'If-Match': etag },
      body: { description: 'Lost update' },
    });
    expect(stale.response.status).toBe(412);
    const taken = await updateSite({
      client: t.admin,
      path: { site_id: site.id },
      body: { name: other.name },
    });
    expect(taken.response.status).toBe(409);
    expect(ok(await getSite({ client: t.admin, path: { site_id: site.id } }))).toMatchObject({
      name: site.name,
      description: 'Rooftop',
    });
  });

  it('refuses to delete a site that has devices (409), and deletes it once empty', async () => {
    const site = await addSite(t);
    const device = await addDevice(t, site.id);
    const busy = await deleteSite({ client: t.admin, path: { site_id: site.id } });
    expectProblem(busy, 409, 'site_not_empty');
    expect(ok(await getSite({ client: t.admin, path: { site_id: site.id } })).device_count).toBe(1);
    expect((await deleteDevice({ client: t.admin, path: { device_id: device.id } })).response.status).toBe(
      204,
    );
    expect((await deleteSite({ client: t.admin, path: { site_id: site.id } })).response.status).toBe(204);
    expect((await getSite({ client: t.admin, path: { site_id: site.id } })).response.status).toBe(404);
  });

  it('shows non-admins only their assigned sites, and drops assignments of deleted sites', async () => {
    const mine = await addSite(t);
    const notMine = await addSite(t);
    const viewer = await addMember(t, 'viewer', [mine.id]);
    expect(
      ok(await listSites({ client: viewer.client, query: { limit: 500 } })).data.map((site) => site.id),
    ).toEqual([mine.id]);
    expect((await getSite({ client: viewer.client, path: { site_id: notMine.id } })).response.status).toBe(
      404,
    );
    ok(
      await updateUser({
        client: t.admin,
        path: { user_id: viewer.user.id },
        body: { site_ids: [mine.id, notMine.id] },
      }),
    );
    expect(ok(await listSites({ client: viewer.client, query: { limit: 500 } })).data).toHaveLength(2);
    expect((await deleteSite({ client: t.admin, path: { site_id: notMine.id } })).response.status).toBe(204);
    expect(ok(await getCurrentUser({ client: viewer.client })).site_ids).toEqual([mine.id]);
  });
});
