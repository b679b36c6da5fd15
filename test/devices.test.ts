import { describe, expect, it } from 'vitest';
import {
  deleteDevice,
  getDevice,
  listDevices,
  registerDevice,
  updateDevice,
  type Device,
} from '@meridian/sdk';
import { expectDeviceSearch } from './support/device-search';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite, unique } from './support/world';

const t = useTestServer();

describe('devices', () => {
  it('pre-registers a device: pending, with a one-time mrt_ registration token valid for 7 days', async () => {
    const site = await addSite(t);
    const result = await registerDevice({
      client: t.admin,
      body: {
        name: 'Lobby kiosk 2',
        site_id: site.id,
        platform: 'windows',
        description: 'By the entrance',
        tags: ['kiosk', 'floor:0'],
      },
    });
    expect(result.response.status).toBe(201);
    const registration = ok(result);
    expect(registration.device).toMatchObject({
      name: 'Lobby kiosk 2',
      site_id: site.id,
      platform: 'windows',
      status: 'pending',
      tags: ['kiosk', 'floor:0'],
    });
    expect(registration.registration_token).toMatch(/^mrt_/);
    const ttl = Date.parse(registration.registration_expires_at) - Date.parse(registration.device.created_at);
    expect(ttl).toBe(7 * 24 * 60 * 60 * 1000);
    const read = ok(await getDevice({ client: t.admin, path: { device_id: registration.device.id } }));
    expect(JSON.stringify(read)).not.toContain(registration.registration_token);
  });

  it('refuses to register on a site that does not exist (422)', async () => {
    const result = await registerDevice({
      client: t.admin,
      body: { name: 'ghost', site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M', platform: 'linux' },
    });
    expectProblem(result, 422, 'unknown_site');
  });

  it('filters by site, status, platform and text, and the filters combine', async () => {
    const site = await addSite(t);
    const stem = unique('kiosk');
    const mac = ok(
      await registerDevice({
        client: t.admin,
        body: { name: `${stem}-mac`, site_id: site.id, platform: 'macos' },
      }),
    ).device;
    const linux = ok(
      await registerDevice({
        client: t.admin,
        body: { name: `${stem}-LINUX`, site_id: site.id, platform: 'linux' },
      }),
    ).device;
    await addDevice(t, site.id);
    const ids = async (query: NonNullable<Parameters<typeof listDevices>[0]>['query']) =>
      ok(await listDevices({ client: t.admin, query })).data.map((d) => d.id);
    expect(await ids({ site_id: site.id, q: stem })).toEqual([mac.id, linux.id]);
    expect(await ids({ q: `${stem}-linux` })).toEqual([linux.id]);
    expect(await ids({ site_id: site.id, platform: 'macos' })).toEqual([mac.id]);
    expect(await ids({ site_id: site.id, status: 'online' })).toEqual([]);
    expect(await ids({ site_id: site.id, status: 'pending', platform: 'linux', q: stem })).toEqual([
      linux.id,
    ]);
  });

  it('searches names and hostnames for literal text, ignoring case, kept up to date and scoped', async () => {
    await expectDeviceSearch(t);
  });

  it("pages through a site's devices exactly once, in registration order", async () => {
    const site = await addSite(t);
    const registered: Device[] = [];
    for (let i = 0; i < 7; i++) registered.push(await addDevice(t, site.id));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = ok(
        await listDevices({
          client: t.admin,
          query: { site_id: site.id, limit: 3, ...(cursor ? { cursor } : {}) },
        }),
      );
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(registered.map((d) => d.id));
    expect(pages).toBe(3);
  });

  it('updates name, description, tags and site under If-Match; a stale ETag is 412 and changes nothing', async () => {
    const from = await addSite(t);
    const to = await addSite(t);
    const device = await addDevice(t, from.id);
    const read = await getDevice({ client: t.admin, path: { device_id: device.id } });
    const etag = read.response.headers.get('etag')!;
    expect(etag).toBe('"1"');
    const updated = await updateDevice({
      client: t.admin,
      path: { device_id: device.id },
      headers: { 'If-Match': etag },
      body: { name: 'Renamed', description: 'Moved upstairs', tags: ['floor:1'], site_id: to.id },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(ok(updated)).toMatchObject({
      name: 'Renamed',
      description: 'Moved upstairs',
      tags: ['floor:1'],
      site_id: to.id,
    });
    const stale = await updateDevice({
      client: t.admin,
      path: { device_id: device.id },
      headers: { 'If-Match': etag },
      body: { name: 'Lost' },
    });
    expectProblem(stale, 412, 'precondition_failed');
    expect(ok(await getDevice({ client: t.admin, path: { device_id: device.id } })).name).toBe('Renamed');
  });

  it('refuses to move a device to a site the operator cannot see (422)', async () => {
    const mine = await addSite(t);
    const theirs = await addSite(t);
    const device = await addDevice(t, mine.id);
    const operator = await addMember(t, 'operator', [mine.id]);
    const moved = await updateDevice({
      client: operator.client,
      path: { device_id: device.id },
      body: { site_id: theirs.id },
    });
    expect(moved.response.status).toBe(422);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: device.id } })).site_id).toBe(mine.id);
  });

  it('lets operators and viewers see only the devices of their sites', async () => {
    const mine = await addSite(t);
    const other = await addSite(t);
    const visible = await addDevice(t, mine.id);
    const hidden = await addDevice(t, other.id);
    const viewer = await addMember(t, 'viewer', [mine.id]);
    expect(
      ok(await listDevices({ client: viewer.client, query: { limit: 500 } })).data.map((d) => d.id),
    ).toEqual([visible.id]);
    expect((await getDevice({ client: viewer.client, path: { device_id: hidden.id } })).response.status).toBe(
      404,
    );
    const write = await updateDevice({
      client: viewer.client,
      path: { device_id: visible.id },
      body: { name: 'nope' },
    });
    expectProblem(write, 403, 'insufficient_scope');
  });

  it('deletes a device; it is then gone (404) and its site can be deleted', async () => {
    const site = await addSite(t);
    const device = await addDevice(t, site.id);
    expect((await deleteDevice({ client: t.admin, path: { device_id: device.id } })).response.status).toBe(
      204,
    );
    const again = await getDevice({ client: t.admin, path: { device_id: device.id } });
    expectProblem(again, 404, 'not_found');
    expect((await deleteDevice({ client: t.admin, path: { device_id: device.id } })).response.status).toBe(
      404,
    );
  });
});
