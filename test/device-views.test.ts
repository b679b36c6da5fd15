/**
 * Saved device views: created with a saved or an inline filter, a sort and columns (custom fields
 * included), private to their owner or shared, changed with If-Match, and changed or deleted only
 * by their owner or an admin. A view's filter and sort give the device list they name.
 */
import { describe, expect, it } from 'vitest';
import {
  createCustomField,
  createDeviceFilter,
  createDeviceView,
  deleteDeviceView,
  getDeviceView,
  listDevices,
  listDeviceViews,
  updateDeviceView,
  type DeviceView,
} from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite, unique } from './support/world';

const MISSING_VIEW = 'dvw_01JDA4E6G8J0K2M4P6R8T0V2X4';
const MISSING_FILTER = 'flt_01JDA4E6G8J0K2M4P6R8T0V2X4';

describe('device views', () => {
  const t = useTestServer();

  it('saves a view with an inline filter, sort and columns, and the view gives its device list', async () => {
    const site = await addSite(t);
    const devices = [await addDevice(t, site.id), await addDevice(t, site.id)];
    const field = ok(
      await createCustomField({
        client: t.admin,
        body: { key: unique('asset_tag').replace(/-/g, '_'), label: 'Asset tag', type: 'string' },
      }),
    );
    const created = await createDeviceView({
      client: t.admin,
      body: {
        name: 'Site devices by name, last first',
        filter: { field: 'site_id', op: 'eq', value: site.id },
        sort: '-name',
        columns: ['name', 'status', `custom.${field.key}`],
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const view = ok(created);
    expect(view).toEqual({
      id: expect.stringMatching(/^dvw_/),
      name: 'Site devices by name, last first',
      description: '',
      visibility: 'private',
      owner_id: expect.stringMatching(/^usr_/),
      filter_id: null,
      filter: { field: 'site_id', op: 'eq', value: site.id },
      sort: '-name',
      columns: ['name', 'status', `custom.${field.key}`],
      created_at: expect.any(String),
      updated_at: view.created_at,
    });
    const read = await getDeviceView({ client: t.admin, path: { view_id: view.id } });
    expect(read.response.headers.get('etag')).toBe('"1"');
    expect(ok(read)).toEqual(view);
    expect(ok(await listDeviceViews({ client: t.admin, query: { limit: 500 } })).data).toContainEqual(view);

    const listed = ok(
      await listDevices({
        client: t.admin,
        query: { filter: JSON.stringify(view.filter), sort: view.sort! },
      }),
    ).data;
    expect(listed.map((device) => device.id)).toEqual(
      [...devices].sort((a, b) => b.name.localeCompare(a.name)).map((device) => device.id),
    );
  });

  it('defaults the columns, names a saved filter, and keeps one filter at a time', async () => {
    const site = await addSite(t);
    const filter = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: unique('Linux'), expression: { field: 'platform', op: 'eq', value: 'linux' } },
      }),
    );
    const view = ok(
      await createDeviceView({ client: t.admin, body: { name: 'Linux', filter_id: filter.id } }),
    );
    expect(view).toMatchObject({
      filter_id: filter.id,
      filter: null,
      sort: null,
      columns: ['name', 'status', 'site_id', 'last_seen_at'],
    });
    const inline = ok(
      await updateDeviceView({
        client: t.admin,
        path: { view_id: view.id },
        body: { filter: { field: 'site_id', op: 'eq', value: site.id } },
      }),
    );
    expect(inline).toMatchObject({ filter_id: null, filter: { field: 'site_id', op: 'eq', value: site.id } });
    const saved = ok(
      await updateDeviceView({ client: t.admin, path: { view_id: view.id }, body: { filter_id: filter.id } }),
    );
    expect(saved).toMatchObject({ filter_id: filter.id, filter: null });
    const cleared = ok(
      await updateDeviceView({
        client: t.admin,
        path: { view_id: view.id },
        body: { filter_id: null, sort: null },
      }),
    );
    expect(cleared).toMatchObject({ filter_id: null, filter: null, sort: null });
  });

  it('refuses bad filters, unknown filters and custom fields, and both filters at once', async () => {
    const before = ok(await listDeviceViews({ client: t.admin, query: { limit: 500 } })).data;
    expectProblem(
      await createDeviceView({ client: t.admin, body: { name: 'Bad', filter_id: MISSING_FILTER } }),
      422,
      'unknown_device_filter',
    );
    const invalid = expectProblem(
      await createDeviceView({
        client: t.admin,
        body: { name: 'Bad', filter: { field: 'colour', op: 'eq', value: 'red' } },
      }),
      400,
      'invalid_filter',
    );
    expect(invalid.errors?.[0]?.path).toMatch(/^\/body\/filter/);
    const unknownField = expectProblem(
      await createDeviceView({
        client: t.admin,
        body: { name: 'Bad', columns: ['name', 'custom.no_such_field'] },
      }),
      422,
      'unknown_custom_field',
    );
    expect(unknownField.errors).toEqual([{ path: '/body/columns/1', message: 'unknown custom field' }]);
    expectProblem(
      await createDeviceView({
        client: t.admin,
        body: { name: 'Bad', columns: ['name', 'colour'] as never },
      }),
      400,
      'validation_failed',
    );
    const filter = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: unique('Online'), expression: { field: 'status', op: 'eq', value: 'online' } },
      }),
    );
    expectProblem(
      await createDeviceView({
        client: t.admin,
        body: { name: 'Bad', filter_id: filter.id, filter: { field: 'status', op: 'eq', value: 'online' } },
      }),
      400,
      'validation_failed',
    );
    expect(ok(await listDeviceViews({ client: t.admin, query: { limit: 500 } })).data).toEqual(before);
    const view = ok(await createDeviceView({ client: t.admin, body: { name: 'Good' } }));
    expectProblem(
      await updateDeviceView({
        client: t.admin,
        path: { view_id: view.id },
        body: { filter_id: MISSING_FILTER },
      }),
      422,
      'unknown_device_filter',
    );
    expectProblem(
      await updateDeviceView({
        client: t.admin,
        path: { view_id: view.id },
        body: { columns: ['custom.nope'] },
      }),
      422,
      'unknown_custom_field',
    );
    expect(ok(await getDeviceView({ client: t.admin, path: { view_id: view.id } }))).toEqual(view);
  });

  it('updates with If-Match: a stale ETag is 412 and changes nothing', async () => {
    const view = ok(await createDeviceView({ client: t.admin, body: { name: 'Tagged' } }));
    const renamed = await updateDeviceView({
      client: t.admin,
      path: { view_id: view.id },
      body: { name: 'Renamed', sort: 'last_seen_at' },
      headers: { 'If-Match': '"1"' },
    });
    expect(renamed.response.headers.get('etag')).toBe('"2"');
    expect(ok(renamed)).toMatchObject({ name: 'Renamed', sort: 'last_seen_at' });
    expectProblem(
      await updateDeviceView({
        client: t.admin,
        path: { view_id: view.id },
        body: { name: 'Lost update' },
        headers: { 'If-Match': '"1"' },
      }),
      412,
      'precondition_failed',
    );
    expect(ok(await getDeviceView({ client: t.admin, path: { view_id: view.id } })).name).toBe('Renamed');
  });

  it('shows private views to their owner (and admins) only, shared views to all, and lets only the owner or an admin change them', async () => {
    const site = await addSite(t);
    const [alice, bob] = [
      await addMember(t, 'operator', [site.id]),
      await addMember(t, 'operator', [site.id]),
    ];
    const viewer = await addMember(t, 'viewer', [site.id]);
    const mine = ok(await createDeviceView({ client: alice.client, body: { name: "Alice's view" } }));
    const shared = ok(
      await createDeviceView({ client: alice.client, body: { name: 'Team view', visibility: 'shared' } }),
    );
    expect(mine.owner_id).toBe(alice.user.id);

    const seenBy = async (client: typeof alice.client) =>
      ok(await listDeviceViews({ client, query: { limit: 500 } })).data.map((view: DeviceView) => view.id);
    expect(await seenBy(alice.client)).toEqual(expect.arrayContaining([mine.id, shared.id]));
    expect(await seenBy(bob.client)).toContain(shared.id);
    expect(await seenBy(bob.client)).not.toContain(mine.id);
    expect(await seenBy(viewer.client)).toContain(shared.id);
    expect(await seenBy(t.admin)).toEqual(expect.arrayContaining([mine.id, shared.id]));
    expect(
      ok(
        await listDeviceViews({ client: alice.client, query: { visibility: 'private', limit: 500 } }),
      ).data.map((view) => view.id),
    ).toEqual([mine.id]);

    expectProblem(await getDeviceView({ client: bob.client, path: { view_id: mine.id } }), 404, 'not_found');
    expectProblem(
      await updateDeviceView({ client: bob.client, path: { view_id: mine.id }, body: { name: 'Mine now' } }),
      404,
      'not_found',
    );
    expectProblem(
      await deleteDeviceView({ client: bob.client, path: { view_id: mine.id } }),
      404,
      'not_found',
    );
    expectProblem(
      await updateDeviceView({
        client: bob.client,
        path: { view_id: shared.id },
        body: { name: 'Mine now' },
      }),
      403,
      'device_view_not_owner',
    );
    expectProblem(
      await deleteDeviceView({ client: bob.client, path: { view_id: shared.id } }),
      403,
      'device_view_not_owner',
    );
    expectProblem(
      await createDeviceView({ client: viewer.client, body: { name: 'Viewer view' } }),
      403,
      'insufficient_scope',
    );
    expect(ok(await getDeviceView({ client: bob.client, path: { view_id: shared.id } }))).toEqual(shared);

    // Sharing and unsharing is the owner's to do; an admin may change or delete anyone's view.
    const unshared = ok(
      await updateDeviceView({
        client: alice.client,
        path: { view_id: shared.id },
        body: { visibility: 'private' },
      }),
    );
    expect(unshared.visibility).toBe('private');
    expectProblem(
      await getDeviceView({ client: bob.client, path: { view_id: shared.id } }),
      404,
      'not_found',
    );
    expect(
      ok(await updateDeviceView({ client: t.admin, path: { view_id: mine.id }, body: { name: 'Tidied' } }))
        .name,
    ).toBe('Tidied');
    expect((await deleteDeviceView({ client: t.admin, path: { view_id: mine.id } })).response.status).toBe(
      204,
    );
    expect(
      (await deleteDeviceView({ client: alice.client, path: { view_id: shared.id } })).response.status,
    ).toBe(204);
    expectProblem(
      await getDeviceView({ client: alice.client, path: { view_id: shared.id } }),
      404,
      'not_found',
    );
    expectProblem(
      await deleteDeviceView({ client: t.admin, path: { view_id: MISSING_VIEW } }),
      404,
      'not_found',
    );
  });
});
