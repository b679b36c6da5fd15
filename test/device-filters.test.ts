/**
 * Device filters: one table of filter cases run on SQLite and on PostgreSQL against the same small
 * fleet, each answering the same devices; bad filters refused with the JSON path of the bad node;
 * saved filters (CRUD, clone, archive, usage); and the device list's filters and sorted, paged
 * order (every page walked in each order, no device twice or missing, ties on the sort column
 * included).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  archiveDeviceFilter,
  cloneDeviceFilter,
  createAlertRule,
  createCustomField,
  createDeviceFilter,
  createDeviceView,
  deleteAlertRule,
  deleteDeviceFilter,
  deleteDeviceView,
  getDeviceFilter,
  getDeviceFilterUsage,
  listDeviceFilters,
  listDevices,
  previewDeviceFilter,
  registerDevice,
  sendAgentHeartbeat,
  setDeviceCustomField,
  unarchiveDeviceFilter,
  updateDevice,
  updateDeviceFilter,
  type Device,
  type DeviceFilterExpression,
} from '@meridian/sdk';
import { addAgent } from './support/agents';
import { usePostgresServer } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, unique } from './support/world';

type Label = 'alpha' | 'beta' | 'gamma' | 'delta' | 'epsilon';

/** The fleet the cases run on: five devices on a site of their own, custom fields rack and env. */
interface Fleet {
  siteId: string;
  ids: Record<Label, string>;
  rack: string;
  env: string;
  /** When alpha was seen; beta 80 and gamma 160 seconds later, which is now (all still online). */
  start: Date;
}

const seconds = (start: Date, count: number) => new Date(start.getTime() + count * 1000).toISOString();

async function buildFleet(t: TestServer): Promise<Fleet> {
  const site = await addSite(t);
  const rack = unique('rack').replace(/-/g, '_');
  const env = unique('env').replace(/-/g, '_');
  ok(
    await createCustomField({
      client: t.admin,
      body: { key: rack, label: 'Rack', type: 'number', default: 1 },
    }),
  );
  ok(
    await createCustomField({
      client: t.admin,
      body: { key: env, label: 'Environment', type: 'enum', options: ['prod', 'test'] },
    }),
  );
  const agent = async (name: string, tags: string[], heartbeat: Record<string, unknown>) => {
    const added = await addAgent(t, site.id);
    ok(await updateDevice({ client: t.admin, path: { device_id: added.deviceId }, body: { name, tags } }));
    ok(
      await sendAgentHeartbeat({
        client: added.client,
        body: { status: 'ok', uptime_seconds: 60, ...heartbeat } as never,
      }),
    );
    return added.deviceId;
  };
  const start = t.clock.now();
  const alpha = await agent('Alpha kiosk', ['kiosk', 'floor:1'], {
    agent_version: '2.10.0',
    hostname: 'alpha-host',
    os_name: 'Ubuntu',
    os_version: '22.04',
  });
  await t.clock.advance(80_000);
  const beta = await agent('Beta kiosk', ['kiosk'], {
    status: 'degraded',
    agent_version: '2.9.1',
    hostname: 'beta-host',
    os_name: 'Windows 11 Pro',
    os_version: '10.0.22631',
  });
  await t.clock.advance(80_000);
  const gamma = await agent('Gamma', [], {
    agent_version: '2.4.0',
    hostname: 'gamma-host',
    os_name: 'Ubuntu',
    os_version: '24.04',
  });
  const register = async (name: string, platform: 'windows' | 'macos', tags: string[], type?: string) =>
    ok(
      await registerDevice({
        client: t.admin,
        body: { name, site_id: site.id, platform, tags, ...(type ? { device_type: type } : {}) },
      }),
    ).device.id;
  const delta = await register('Delta kiosk', 'windows', ['lab'], 'server');
  const epsilon = await register('Epsilon', 'macos', []);
  const set = async (deviceId: string, key: string, value: unknown) =>
    ok(
      await setDeviceCustomField({
        client: t.admin,
        path: { device_id: deviceId, key },
        body: { value } as never,
      }),
    );
  await set(alpha, rack, 3);
  await set(beta, rack, 12);
  await set(alpha, env, 'prod');
  return { siteId: site.id, ids: { alpha, beta, gamma, delta, epsilon }, rack, env, start };
}

/** [what it tests, the filter, the devices it selects]. */
const CASES = (fleet: Fleet): [string, DeviceFilterExpression, Label[]][] => [
  ['status eq', { field: 'status', op: 'eq', value: 'online' }, ['alpha', 'gamma']],
  ['status in', { field: 'status', op: 'in', value: ['pending', 'degraded'] }, ['beta', 'delta', 'epsilon']],
  ['status ne', { field: 'status', op: 'ne', value: 'online' }, ['beta', 'delta', 'epsilon']],
  ['platform eq', { field: 'platform', op: 'eq', value: 'windows' }, ['delta']],
  ['platform not_in', { field: 'platform', op: 'not_in', value: ['linux', 'windows'] }, ['epsilon']],
  ['device_type eq', { field: 'device_type', op: 'eq', value: 'server' }, ['delta']],
  ['tags has', { field: 'tags', op: 'has', value: 'kiosk' }, ['alpha', 'beta']],
  ['tags has_any', { field: 'tags', op: 'has_any', value: ['lab', 'floor:1'] }, ['alpha', 'delta']],
  ['tags has_all', { field: 'tags', op: 'has_all', value: ['kiosk', 'floor:1'] }, ['alpha']],
  ['tags has_none', { field: 'tags', op: 'has_none', value: ['kiosk'] }, ['gamma', 'delta', 'epsilon']],
  [
    'name contains, ignoring case',
    { field: 'name', op: 'contains', value: 'KIOSK' },
    ['alpha', 'beta', 'delta'],
  ],
  ['name starts_with', { field: 'name', op: 'starts_with', value: 'gam' }, ['gamma']],
  ['name ends_with', { field: 'name', op: 'ends_with', value: 'silon' }, ['epsilon']],
  ['name eq', { field: 'name', op: 'eq', value: 'Gamma' }, ['gamma']],
  ['wildcards are literal', { field: 'name', op: 'contains', value: '%' }, []],
  ['hostname exists false', { field: 'hostname', op: 'exists', value: false }, ['delta', 'epsilon']],
  ['hostname starts_with', { field: 'hostname', op: 'starts_with', value: 'alpha-' }, ['alpha']],
  [
    'not is the complement, devices without a hostname included',
    { not: { field: 'hostname', op: 'eq', value: 'alpha-host' } },
    ['beta', 'gamma', 'delta', 'epsilon'],
  ],
  ['os_name contains', { field: 'os_name', op: 'contains', value: 'windows' }, ['beta']],
  ['os_version lt compares versions', { field: 'os_version', op: 'lt', value: '23' }, ['alpha', 'beta']],
  ['agent_version gt: 2.10 after 2.9', { field: 'agent_version', op: 'gt', value: '2.9' }, ['alpha', 'beta']],
  ['agent_version gte', { field: 'agent_version', op: 'gte', value: '2.10' }, ['alpha']],
  ['agent_version lte', { field: 'agent_version', op: 'lte', value: '2.4.0' }, ['gamma']],
  ['agent_version in', { field: 'agent_version', op: 'in', value: ['2.4.0'] }, ['gamma']],
  [
    'last_seen_at after',
    { field: 'last_seen_at', op: 'after', value: seconds(fleet.start, 40) },
    ['beta', 'gamma'],
  ],
  [
    'last_seen_at before',
    { field: 'last_seen_at', op: 'before', value: seconds(fleet.start, 40) },
    ['alpha'],
  ],
  [
    'last_seen_at within_minutes',
    { field: 'last_seen_at', op: 'within_minutes', value: 2 },
    ['beta', 'gamma'],
  ],
  [
    'not within_minutes: seen long ago or never',
    { not: { field: 'last_seen_at', op: 'within_minutes', value: 2 } },
    ['alpha', 'delta', 'epsilon'],
  ],
  ['last_seen_at exists false', { field: 'last_seen_at', op: 'exists', value: false }, ['delta', 'epsilon']],
  [
    'or',
    {
      or: [
        { field: 'platform', op: 'eq', value: 'windows' },
        { field: 'agent_version', op: 'lt', value: '2.5' },
      ],
    },
    ['gamma', 'delta'],
  ],
  [
    'and, or and not nested',
    {
      and: [
        {
          or: [
            { field: 'tags', op: 'has', value: 'kiosk' },
            { field: 'platform', op: 'eq', value: 'macos' },
          ],
        },
        { not: { field: 'status', op: 'eq', value: 'degraded' } },
      ],
    },
    ['alpha', 'epsilon'],
  ],
  ['a number custom field', { field: `custom.${fleet.rack}`, op: 'gt', value: 5 }, ['beta']],
  [
    'a custom field default',
    { field: `custom.${fleet.rack}`, op: 'lte', value: 3 },
    ['alpha', 'gamma', 'delta', 'epsilon'],
  ],
  ['an enum custom field', { field: `custom.${fleet.env}`, op: 'eq', value: 'prod' }, ['alpha']],
  [
    'a custom field without a value',
    { field: `custom.${fleet.env}`, op: 'exists', value: false },
    ['beta', 'gamma', 'delta', 'epsilon'],
  ],
];

/** Eight devices on a site of their own with ties on every sort column; returns the site and them. */
async function addSortFleet(t: TestServer): Promise<{ siteId: string; all: Device[] }> {
  const site = await addSite(t);
  // Ties on every sort column: same names, same registration time, never seen, same status.
  for (const name of ['kiosk', 'kiosk', 'kiosk', 'alpha', 'zulu'])
    ok(await registerDevice({ client: t.admin, body: { name, site_id: site.id, platform: 'linux' } }));
  await t.clock.advance(1000);
  for (const name of ['kiosk', 'mike']) {
    const agent = await addAgent(t, site.id);
    ok(await updateDevice({ client: t.admin, path: { device_id: agent.deviceId }, body: { name } }));
    ok(
      await sendAgentHeartbeat({
        client: agent.client,
        body: { status: 'ok', uptime_seconds: 1, agent_version: '1' },
      }),
    );
  }
  await t.clock.advance(1000);
  const degraded = await addAgent(t, site.id);
  ok(
    await sendAgentHeartbeat({
      client: degraded.client,
      body: { status: 'degraded', uptime_seconds: 1, agent_version: '1' },
    }),
  );
  const all = ok(await listDevices({ client: t.admin, query: { site_id: site.id, limit: 500 } })).data;
  expect(all).toHaveLength(8);
  return { siteId: site.id, all };
}

const SORTS = ['name', 'last_seen_at', 'status', 'created_at'] as const;

/** Every page of the site's devices in `sort`, three at a time. */
async function walkPages(t: TestServer, siteId: string, sort: string): Promise<Device[]> {
  const walked: Device[] = [];
  let cursor: string | undefined;
  do {
    const page = ok(
      await listDevices({
        client: t.admin,
        query: { site_id: siteId, sort: sort as never, limit: 3, ...(cursor ? { cursor } : {}) },
      }),
    );
    walked.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return walked;
}

function filterCases(engine: string, t: TestServer) {
  describe(`the filter grammar on ${engine}`, () => {
    let fleet: Fleet;
    beforeAll(async () => {
      fleet = await buildFleet(t);
    });

    it('selects the same devices for every case of the table', async () => {
      const labelOf = new Map(Object.entries(fleet.ids).map(([label, id]) => [id, label]));
      for (const [name, expression, expected] of CASES(fleet)) {
        const preview = ok(
          await previewDeviceFilter({
            client: t.admin,
            body: { expression: { and: [{ field: 'site_id', op: 'eq', value: fleet.siteId }, expression] } },
          }),
        );
        const labels = preview.data.map((device) => labelOf.get(device.id)).sort();
        expect(labels, name).toEqual([...expected].sort());
        expect(preview.count, name).toBe(expected.length);
      }
    });

    it('pages every sort in the order the database sorts it, without gaps or repeats', async () => {
      const { siteId } = await addSortFleet(t);
      for (const column of SORTS) {
        for (const sort of [column, `-${column}`]) {
          const whole = ok(
            await listDevices({
              client: t.admin,
              query: { site_id: siteId, sort: sort as never, limit: 500 },
            }),
          ).data;
          const walked = await walkPages(t, siteId, sort);
          expect(
            walked.map((device) => device.id),
            sort,
          ).toEqual(whole.map((device) => device.id));
        }
      }
    });
  });
}

describe('SQLite', () => {
  const t = useTestServer();
  filterCases('SQLite', t);
});

describe('PostgreSQL', () => {
  const t = usePostgresServer();
  filterCases('PostgreSQL', t);
});

describe('device filters', () => {
  const t = useTestServer();
  const condition = { field: 'status', op: 'eq', value: 'online' } as const;
  const nest = (depth: number): DeviceFilterExpression =>
    depth === 1 ? condition : { not: nest(depth - 1) };

  it('refuses bad filters with 400 at the path of each bad node', async () => {
    // [what is wrong, the filter, the code, the path under /body/expression]. What the spec's
    // schema refuses (sizes of lists) is validation_failed; the grammar's own rules invalid_filter.
    const cases: [string, unknown, string, string][] = [
      [
        'an unknown field',
        { and: [condition, { field: 'colour', op: 'eq', value: 'red' }] },
        'invalid_filter',
        '/and/1/field',
      ],
      [
        'an operator of another type',
        { and: [condition, condition, { field: 'status', op: 'lt', value: '2' }] },
        'invalid_filter',
        '/and/2/op',
      ],
      [
        'a value of the wrong type',
        { or: [{ field: 'last_seen_at', op: 'within_minutes', value: 0 }] },
        'invalid_filter',
        '/or/0/value',
      ],
      [
        'an enum value that does not exist',
        { field: 'status', op: 'in', value: ['online', 'asleep'] },
        'invalid_filter',
        '/value/1',
      ],
      ['a bad version', { field: 'agent_version', op: 'gt', value: 'latest' }, 'invalid_filter', '/value'],
      ['a bad time', { field: 'last_seen_at', op: 'before', value: 'yesterday' }, 'invalid_filter', '/value'],
      [
        'an unknown custom field',
        { not: { field: 'custom.nothing_here', op: 'eq', value: 'x' } },
        'invalid_filter',
        '/not/field',
      ],
      ['a group with another key', { and: [condition], field: 'status' }, 'invalid_filter', '/field'],
      ['a condition without an operator', { field: 'status', value: 'online' }, 'invalid_filter', '/op'],
      ['an empty object', {}, 'invalid_filter', '/field'],
      ['too deep', nest(7), 'invalid_filter', '/not/not/not/not/not/not'],
      [
        'too many conditions',
        { or: Array.from({ length: 51 }, () => ({ and: [condition, condition] })) },
        'invalid_filter',
        '/or/50/and/0',
      ],
      ['an empty group', { or: [] }, 'validation_failed', '/or'],
      ['a group too large', { or: Array.from({ length: 101 }, () => condition) }, 'validation_failed', '/or'],
    ];
    for (const [name, expression, code, path] of cases) {
      const result = await previewDeviceFilter({
        client: t.admin,
        body: { expression: expression as never },
      });
      const problem = expectProblem(result, 400, code);
      expect(
        problem.errors?.map((error) => error.path),
        name,
      ).toContain(`/body/expression${path}`);
    }
    // Six levels are allowed.
    ok(await previewDeviceFilter({ client: t.admin, body: { expression: nest(6) } }));
  });

  it('saves, reads, lists, updates, clones, archives and deletes filters', async () => {
    const site = await addSite(t);
    const name = unique('Linux of a site');
    const expression: DeviceFilterExpression = {
      and: [
        { field: 'site_id', op: 'eq', value: site.id },
        { field: 'platform', op: 'eq', value: 'linux' },
      ],
    };
    const created = await createDeviceFilter({ client: t.admin, body: { name, expression } });
    expect(created.response.status).toBe(201);
    const saved = ok(created);
    expect(saved).toMatchObject({ name, description: '', expression, archived: false, archived_at: null });
    expect(ok(await getDeviceFilter({ client: t.admin, path: { filter_id: saved.id } }))).toEqual(saved);
    expectProblem(
      await createDeviceFilter({ client: t.admin, body: { name, expression } }),
      409,
      'device_filter_name_taken',
    );
    expectProblem(
      await createDeviceFilter({
        client: t.admin,
        body: { name: unique('bad'), expression: { field: 'colour', op: 'eq', value: 'red' } },
      }),
      400,
      'invalid_filter',
    );

    const updated = await updateDeviceFilter({
      client: t.admin,
      path: { filter_id: saved.id },
      body: { expression: { field: 'site_id', op: 'eq', value: site.id } },
      headers: { 'If-Match': '"1"' },
    });
    expect(ok(updated).expression).toEqual({ field: 'site_id', op: 'eq', value: site.id });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expectProblem(
      await updateDeviceFilter({
        client: t.admin,
        path: { filter_id: saved.id },
        body: { description: 'stale' },
        headers: { 'If-Match': '"1"' },
      }),
      412,
      'precondition_failed',
    );
    expectProblem(
      await updateDeviceFilter({
        client: t.admin,
        path: { filter_id: saved.id },
        body: { expression: { not: { field: 'tags', op: 'eq', value: 'x' } } },
      }),
      400,
      'invalid_filter',
    );

    const copy = ok(await cloneDeviceFilter({ client: t.admin, path: { filter_id: saved.id }, body: {} }));
    expect(copy).toMatchObject({
      name: `${name} (copy)`,
      expression: { field: 'site_id', op: 'eq', value: site.id },
    });
    expectProblem(
      await cloneDeviceFilter({ client: t.admin, path: { filter_id: saved.id }, body: { name } }),
      409,
      'device_filter_name_taken',
    );
    expectProblem(
      await updateDeviceFilter({ client: t.admin, path: { filter_id: copy.id }, body: { name } }),
      409,
      'device_filter_name_taken',
    );

    const archived = ok(await archiveDeviceFilter({ client: t.admin, path: { filter_id: copy.id } }));
    expect(archived).toMatchObject({ archived: true, archived_at: expect.any(String) });
    expect(ok(await archiveDeviceFilter({ client: t.admin, path: { filter_id: copy.id } }))).toEqual(
      archived,
    );
    const listed = async (archivedOnly: boolean) =>
      ok(
        await listDeviceFilters({ client: t.admin, query: { q: name, archived: archivedOnly, limit: 500 } }),
      ).data.map((each) => each.id);
    expect(await listed(false)).toEqual([saved.id]);
    expect(await listed(true)).toEqual([copy.id]);
    // An archived filter still previews and lists devices (what uses it keeps working).
    ok(await previewDeviceFilter({ client: t.admin, body: { filter_id: copy.id } }));
    ok(await listDevices({ client: t.admin, query: { filter_id: copy.id } }));
    expect(ok(await unarchiveDeviceFilter({ client: t.admin, path: { filter_id: copy.id } })).archived).toBe(
      false,
    );
    expect(ok(await unarchiveDeviceFilter({ client: t.admin, path: { filter_id: copy.id } })).archived).toBe(
      false,
    );
    expect(await listed(true)).toEqual([]);

    expect(ok(await getDeviceFilterUsage({ client: t.admin, path: { filter_id: copy.id } })).data).toEqual(
      [],
    );
    expect(
      (await deleteDeviceFilter({ client: t.admin, path: { filter_id: copy.id } })).response.status,
    ).toBe(204);
    for (const call of [
      getDeviceFilter,
      getDeviceFilterUsage,
      archiveDeviceFilter,
      unarchiveDeviceFilter,
      deleteDeviceFilter,
    ])
      expectProblem(await call({ client: t.admin, path: { filter_id: copy.id } }), 404, 'not_found');
    expectProblem(
      await cloneDeviceFilter({ client: t.admin, path: { filter_id: copy.id }, body: {} }),
      404,
      'not_found',
    );
    expectProblem(
      await updateDeviceFilter({ client: t.admin, path: { filter_id: copy.id }, body: { description: 'x' } }),
      404,
      'not_found',
    );
  });

  it('lists what targets a filter and refuses to delete it while used', async () => {
    const site = await addSite(t);
    const filter = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: unique('In use'), expression: { field: 'site_id', op: 'eq', value: site.id } },
      }),
    );
    const view = ok(
      await createDeviceView({
        client: t.admin,
        body: { name: unique('Site view'), visibility: 'shared', filter_id: filter.id },
      }),
    );
    const rule = ok(
      await createAlertRule({
        client: t.admin,
        body: { name: unique('Filtered offline'), kind: 'device_offline', scope: { filter_id: filter.id } },
      }),
    );
    expect(ok(await getDeviceFilterUsage({ client: t.admin, path: { filter_id: filter.id } })).data).toEqual([
      { kind: 'alert_rule', id: rule.id, name: rule.name },
      { kind: 'device_view', id: view.id, name: view.name },
    ]);
    const refused = expectProblem(
      await deleteDeviceFilter({ client: t.admin, path: { filter_id: filter.id } }),
      409,
      'device_filter_in_use',
    );
    expect(refused.detail).toContain(view.id);
    expect(refused.detail).toContain(rule.id);
    expect((await deleteAlertRule({ client: t.admin, path: { rule_id: rule.id } })).response.status).toBe(
      204,
    );
    // Archived, it still serves what uses it.
    ok(await archiveDeviceFilter({ client: t.admin, path: { filter_id: filter.id } }));
    ok(await listDevices({ client: t.admin, query: { filter_id: filter.id } }));
    expect((await deleteDeviceView({ client: t.admin, path: { view_id: view.id } })).response.status).toBe(
      204,
    );
    expect(
      (await deleteDeviceFilter({ client: t.admin, path: { filter_id: filter.id } })).response.status,
    ).toBe(204);
  });

  it('previews a saved or inline filter: the count and the first page, of your own sites only', async () => {
    const siteA = await addSite(t);
    const siteB = await addSite(t);
    const register = async (siteId: string, name: string) =>
      ok(
        await registerDevice({
          client: t.admin,
          body: { name, site_id: siteId, platform: 'linux', tags: ['pos'] },
        }),
      ).device.id;
    const onA = [
      await register(siteA.id, 'till 1'),
      await register(siteA.id, 'till 2'),
      await register(siteA.id, 'till 3'),
    ];
    const onB = await register(siteB.id, 'till 4');
    const expression: DeviceFilterExpression = {
      and: [
        { field: 'tags', op: 'has', value: 'pos' },
        { field: 'site_id', op: 'in', value: [siteA.id, siteB.id] },
      ],
    };
    const preview = ok(await previewDeviceFilter({ client: t.admin, body: { expression, limit: 2 } }));
    expect(preview.count).toBe(4);
    expect(preview.data.map((device) => device.id)).toEqual(onA.slice(0, 2));
    // The next page is the device list's, filtered the same way.
    const rest = ok(
      await listDevices({
        client: t.admin,
        query: { filter: JSON.stringify(expression), cursor: preview.next_cursor! },
      }),
    );
    expect(rest.data.map((device) => device.id)).toEqual([onA[2], onB]);

    const operator = await addMember(t, 'operator', [siteA.id]);
    const saved = ok(
      await createDeviceFilter({ client: operator.client, body: { name: unique('tills'), expression } }),
    );
    const seen = ok(await previewDeviceFilter({ client: operator.client, body: { filter_id: saved.id } }));
    expect(seen.count).toBe(3);
    expect(seen.data.map((device) => device.id)).toEqual(onA);

    expectProblem(
      await previewDeviceFilter({ client: t.admin, body: { filter_id: saved.id, expression } }),
      400,
      'validation_failed',
    );
    expectProblem(await previewDeviceFilter({ client: t.admin, body: {} }), 400, 'validation_failed');
    expectProblem(
      await previewDeviceFilter({ client: t.admin, body: { filter_id: 'flt_01JDA4K2M6N8P0Q2R4S6T8V0W2' } }),
      422,
      'unknown_device_filter',
    );
  });
});

describe('the device list', () => {
  const t = useTestServer();

  it('filters by device_type, tag, agent_version, a saved filter or an inline one', async () => {
    const site = await addSite(t);
    const relay = ok(
      await registerDevice({
        client: t.admin,
        body: { name: 'relay', site_id: site.id, platform: 'linux', device_type: 'relay', tags: ['edge'] },
      }),
    ).device;
    const agent = await addAgent(t, site.id);
    ok(
      await sendAgentHeartbeat({
        client: agent.client,
        body: { status: 'ok', uptime_seconds: 5, agent_version: '3.1.4' },
      }),
    );
    const ids = async (query: Record<string, unknown>) =>
      ok(await listDevices({ client: t.admin, query: { site_id: site.id, ...query } })).data.map((d) => d.id);
    expect(await ids({ device_type: 'relay' })).toEqual([relay.id]);
    expect(await ids({ tag: 'edge' })).toEqual([relay.id]);
    expect(await ids({ agent_version: '3.1.4' })).toEqual([agent.deviceId]);
    expect(
      await ids({ filter: JSON.stringify({ field: 'agent_version', op: 'exists', value: false }) }),
    ).toEqual([relay.id]);
    const saved = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: unique('agents'), expression: { field: 'agent_version', op: 'gte', value: '3' } },
      }),
    );
    expect(await ids({ filter_id: saved.id })).toEqual([agent.deviceId]);
    expect(await ids({ filter_id: saved.id, tag: 'edge' })).toEqual([]);

    const refused = async (query: Record<string, unknown>, status: number, code: string, path: string) => {
      const problem = expectProblem(await listDevices({ client: t.admin, query }), status, code);
      if (path) expect(problem.errors?.map((error) => error.path)).toContain(path);
    };
    await refused(
      { filter: '{"and":[{"field":"status","op":"gt","value":1}]}' },
      400,
      'invalid_filter',
      '/query/filter/and/0/op',
    );
    await refused({ filter: '{"field":' }, 400, 'invalid_filter', '/query/filter');
    await refused({ filter: '{}', filter_id: saved.id }, 400, 'validation_failed', '/query/filter_id');
    await refused({ filter_id: 'flt_01JDA4K2M6N8P0Q2R4S6T8V0W2' }, 422, 'unknown_device_filter', '');
  });

  it('sorts by name, last_seen_at, status and created_at both ways, paging without gaps or repeats', async () => {
    const { siteId, all } = await addSortFleet(t);

    for (const column of SORTS) {
      for (const sort of [column, `-${column}`] as const) {
        const walked = await walkPages(t, siteId, sort);
        const key = (device: Device) => String(device[column] ?? '');
        const sign = sort.startsWith('-') ? -1 : 1;
        const expected = [...all].sort(
          (a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id < b.id ? -1 : 1),
        );
        expect(
          walked.map((device) => device.id),
          sort,
        ).toEqual(expected.map((device) => device.id));
      }
    }

    const first = ok(
      await listDevices({ client: t.admin, query: { site_id: siteId, sort: 'name', limit: 2 } }),
    );
    for (const query of [{ sort: '-name' }, { sort: 'status' }, {}] as const) {
      const problem = expectProblem(
        await listDevices({
          client: t.admin,
          query: { site_id: siteId, cursor: first.next_cursor!, ...query },
        }),
        400,
        'validation_failed',
      );
      expect(problem.errors?.[0]?.path).toBe('/query/cursor');
    }
    const unsorted = ok(await listDevices({ client: t.admin, query: { site_id: siteId, limit: 2 } }));
    expectProblem(
      await listDevices({
        client: t.admin,
        query: { site_id: siteId, sort: 'name', cursor: unsorted.next_cursor! },
      }),
      400,
      'validation_failed',
    );
  });
});
