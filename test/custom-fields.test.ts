/**
 * Custom fields: definitions (CRUD, If-Match, the key and type fixed), values per device set and
 * removed by operators and checked against every type, defaults shown where a device has no value,
 * agents reporting the agent-writable ones in heartbeats (unknown, operator-only and invalid ones
 * ignored and named in the answer), values gone with their definition, and sites respected. The
 * whole suite runs on SQLite and on PostgreSQL, where values are stored in typed columns.
 */
import { describe, expect, it } from 'vitest';
import {
  createCustomField,
  createDeviceFilter,
  createDeviceView,
  createSchedule,
  deleteCustomField,
  deleteDeviceFilter,
  deleteDeviceView,
  deleteSchedule,
  deleteDeviceCustomField,
  getCustomField,
  getDevice,
  listCustomFields,
  listDevices,
  sendAgentHeartbeat,
  setDeviceCustomField,
  updateCustomField,
  type CustomField,
  type CustomFieldCreate,
  type CustomFieldValue,
} from '@meridian/sdk';
import { addAgent } from './support/agents';
import { usePostgresServer } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite, unique } from './support/world';

const MISSING_FIELD = 'cfd_01JD9C3D5E7F9G1H3J5K7M9N1P';

/** A snake_case key no other test uses. */
const uniqueKey = (stem: string) => unique(stem).replace(/-/g, '_');

/** Every type with values it takes and values it refuses. */
const TYPES: {
  type: CustomFieldCreate['type'];
  options?: string[];
  good: CustomFieldValue[];
  bad: CustomFieldValue[];
}[] = [
  { type: 'string', good: ['INV-20931', '', 'x'.repeat(1000)], bad: [42, true, 'x'.repeat(1001)] },
  { type: 'number', good: [0, -12.5, 1e12], bad: ['12', false] },
  { type: 'boolean', good: [true, false], bad: ['true', 1] },
  {
    type: 'date',
    good: ['2027-06-30', '2028-02-29'],
    bad: ['2027-02-29', '2027-6-30', '2027-06-30T00:00:00Z', 3],
  },
  {
    type: 'enum',
    options: ['production', 'staging', 'lab'],
    good: ['production', 'lab'],
    bad: ['Production', 'retired', 1],
  },
  {
    type: 'url',
    good: ['https://wiki.example.com/kiosks/lisbon', 'http://10.0.0.5:8080/status'],
    bad: ['wiki.example.com/kiosks', 'ftp://files.example.com/a', 'javascript:alert(1)', true],
  },
];

function customFieldSuite(t: TestServer) {
  const create = async (body: Partial<CustomFieldCreate> & Pick<CustomFieldCreate, 'type'>) =>
    ok(
      await createCustomField({
        client: t.admin,
        body: { key: uniqueKey('field'), label: 'A field', ...body },
      }),
    );
  const deviceFields = async (deviceId: string) =>
    ok(await getDevice({ client: t.admin, path: { device_id: deviceId } })).custom_fields;
  const setValue = (deviceId: string, key: string, value: CustomFieldValue) =>
    setDeviceCustomField({ client: t.admin, path: { device_id: deviceId, key }, body: { value } });

  it('creates, reads, lists, updates with If-Match and deletes a definition', async () => {
    const created = await createCustomField({
      client: t.admin,
      body: {
        key: uniqueKey('environment'),
        label: 'Environment',
        description: 'Which environment the machine serves.',
        type: 'enum',
        options: ['production', 'staging'],
        default: 'production',
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const field = ok(created);
    expect(field).toEqual({
      id: expect.stringMatching(/^cfd_/),
      key: expect.stringMatching(/^environment_/),
      label: 'Environment',
      description: 'Which environment the machine serves.',
      type: 'enum',
      options: ['production', 'staging'],
      writer: 'operator',
      default: 'production',
      created_at: expect.any(String),
      updated_at: field.created_at,
    });
    const read = await getCustomField({ client: t.admin, path: { custom_field_id: field.id } });
    expect(read.response.headers.get('etag')).toBe('"1"');
    expect(ok(read)).toEqual(field);
    expect(ok(await listCustomFields({ client: t.admin, query: { limit: 500 } })).data).toContainEqual(field);

    const updated = await updateCustomField({
      client: t.admin,
      path: { custom_field_id: field.id },
      body: { label: 'Env', options: ['production', 'staging', 'lab'], writer: 'agent', default: 'lab' },
      headers: { 'If-Match': '"1"' },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(ok(updated)).toMatchObject({
      key: field.key,
      type: 'enum',
      label: 'Env',
      options: ['production', 'staging', 'lab'],
      writer: 'agent',
      default: 'lab',
    });
    const stale = await updateCustomField({
      client: t.admin,
      path: { custom_field_id: field.id },
      body: { label: 'Lost update' },
      headers: { 'If-Match': '"1"' },
    });
    expectProblem(stale, 412, 'precondition_failed');
    const cleared = ok(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: field.id },
        body: { default: null },
      }),
    );
    expect(cleared.default).toBeNull();
    expect(cleared.label).toBe('Env');

    expect(
      (await deleteCustomField({ client: t.admin, path: { custom_field_id: field.id } })).response.status,
    ).toBe(204);
    expectProblem(
      await getCustomField({ client: t.admin, path: { custom_field_id: field.id } }),
      404,
      'not_found',
    );
    expectProblem(
      await deleteCustomField({ client: t.admin, path: { custom_field_id: MISSING_FIELD } }),
      404,
      'not_found',
    );
    expectProblem(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: field.id },
        body: { label: 'Gone' },
      }),
      404,
      'not_found',
    );
  });

  it('keeps the key unique and fixed, and the type fixed', async () => {
    const field = await create({ type: 'string' });
    expectProblem(
      await createCustomField({ client: t.admin, body: { key: field.key, label: 'Again', type: 'number' } }),
      409,
      'custom_field_key_taken',
    );
    for (const body of [{ key: uniqueKey('renamed') }, { type: 'number' }])
      expectProblem(
        await updateCustomField({
          client: t.admin,
          path: { custom_field_id: field.id },
          body: body as never,
        }),
        400,
        'validation_failed',
      );
    for (const key of ['Asset_Tag', 'asset-tag', '1st', 'double__underscore', 'trailing_'])
      expectProblem(
        await createCustomField({ client: t.admin, body: { key, label: 'Bad key', type: 'string' } }),
        400,
        'validation_failed',
      );
    expect(ok(await getCustomField({ client: t.admin, path: { custom_field_id: field.id } }))).toEqual(field);
  });

  it('requires options on enum fields only, and defaults that fit the type', async () => {
    const noOptions = expectProblem(
      await createCustomField({
        client: t.admin,
        body: { key: uniqueKey('tier'), label: 'Tier', type: 'enum' },
      }),
      422,
      'custom_field_options_required',
    );
    expect(noOptions.errors).toEqual([{ path: '/body/options', message: 'required for type enum' }]);
    expectProblem(
      await createCustomField({
        client: t.admin,
        body: { key: uniqueKey('note'), label: 'Note', type: 'string', options: ['a'] },
      }),
      422,
      'custom_field_options_not_allowed',
    );
    const badDefault = expectProblem(
      await createCustomField({
        client: t.admin,
        body: { key: uniqueKey('rack'), label: 'Rack unit', type: 'number', default: 'twelve' },
      }),
      422,
      'invalid_custom_field_value',
    );
    expect(badDefault.errors).toEqual([{ path: '/body/default', message: 'must be a number' }]);
    const field = await create({ type: 'enum', options: ['a', 'b'], default: 'b' });
    // Dropping the option that is the default leaves a default the field refuses.
    expectProblem(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: field.id },
        body: { options: ['a'] },
      }),
      422,
      'invalid_custom_field_value',
    );
    expectProblem(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: field.id },
        body: { default: 'c' },
      }),
      422,
      'invalid_custom_field_value',
    );
    const number = await create({ type: 'number' });
    expectProblem(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: number.id },
        body: { options: ['a'] },
      }),
      422,
      'custom_field_options_not_allowed',
    );
    expect(ok(await getCustomField({ client: t.admin, path: { custom_field_id: field.id } }))).toEqual(field);
  });

  it.each(TYPES)(
    'checks every value of a $type field against its type',
    async ({ type, options, good, bad }) => {
      const field = await create({ type, ...(options ? { options } : {}) });
      const site = await addSite(t);
      const device = await addDevice(t, site.id);
      for (const value of good) {
        const set = await setValue(device.id, field.key, value);
        expect(ok(set)).toEqual({
          device_id: device.id,
          key: field.key,
          value,
          set_by: 'operator',
          updated_at: expect.any(String),
        });
        expect((await deviceFields(device.id))[field.key]).toEqual(value);
      }
      const last = good[good.length - 1];
      for (const value of bad) {
        const problem = expectProblem(
          await setValue(device.id, field.key, value),
          422,
          'invalid_custom_field_value',
        );
        expect(problem.errors).toEqual([
          { path: '/body/value', message: expect.stringMatching(/^must be /) },
        ]);
        expect(problem.detail).toContain(`${field.key} (${type})`);
        expect((await deviceFields(device.id))[field.key]).toEqual(last);
      }
    },
  );

  it('shows defaults where a device has no value, and the value set or removed otherwise', async () => {
    const site = await addSite(t);
    const [first, second] = [await addDevice(t, site.id), await addDevice(t, site.id)];
    const tier = await create({ type: 'enum', options: ['gold', 'silver'], default: 'silver' });
    const managed = await create({ type: 'boolean', default: false });
    const note = await create({ type: 'string' });
    expect(await deviceFields(first.id)).toMatchObject({ [tier.key]: 'silver', [managed.key]: false });
    expect(await deviceFields(first.id)).not.toHaveProperty(note.key);

    ok(await setValue(first.id, tier.key, 'gold'));
    ok(await setValue(first.id, note.key, 'Behind the reception desk'));
    const listed = ok(await listDevices({ client: t.admin, query: { site_id: site.id } })).data;
    const byId = new Map(listed.map((device) => [device.id, device.custom_fields]));
    expect(byId.get(first.id)).toMatchObject({
      [tier.key]: 'gold',
      [managed.key]: false,
      [note.key]: 'Behind the reception desk',
    });
    expect(byId.get(second.id)).toMatchObject({ [tier.key]: 'silver', [managed.key]: false });
    expect(byId.get(second.id)).not.toHaveProperty(note.key);

    expect(
      (await deleteDeviceCustomField({ client: t.admin, path: { device_id: first.id, key: tier.key } }))
        .response.status,
    ).toBe(204);
    expect(
      (await deleteDeviceCustomField({ client: t.admin, path: { device_id: first.id, key: note.key } }))
        .response.status,
    ).toBe(204);
    expect(await deviceFields(first.id)).toMatchObject({ [tier.key]: 'silver' });
    expect(await deviceFields(first.id)).not.toHaveProperty(note.key);
    // Removing a value the device does not have succeeds too.
    expect(
      (await deleteDeviceCustomField({ client: t.admin, path: { device_id: first.id, key: note.key } }))
        .response.status,
    ).toBe(204);
  });

  it('refuses to drop an enum option a device still has', async () => {
    const field = await create({ type: 'enum', options: ['north', 'south', 'east'] });
    const site = await addSite(t);
    const device = await addDevice(t, site.id);
    ok(await setValue(device.id, field.key, 'south'));
    const problem = expectProblem(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: field.id },
        body: { options: ['north'] },
      }),
      409,
      'custom_field_option_in_use',
    );
    expect(problem.detail).toContain('south');
    // Dropping an option nobody has is fine.
    expect(
      ok(
        await updateCustomField({
          client: t.admin,
          path: { custom_field_id: field.id },
          body: { options: ['north', 'south'] },
        }),
      ).options,
    ).toEqual(['north', 'south']);
  });

  it('deletes every value with its definition', async () => {
    const site = await addSite(t);
    const device = await addDevice(t, site.id);
    const field = await create({ type: 'number' });
    ok(await setValue(device.id, field.key, 7));
    expect(
      (await deleteCustomField({ client: t.admin, path: { custom_field_id: field.id } })).response.status,
    ).toBe(204);
    expect(await deviceFields(device.id)).not.toHaveProperty(field.key);
    expectProblem(await setValue(device.id, field.key, 8), 404, 'not_found');
    // A new field with the same key starts without the old value.
    await create({ key: field.key, type: 'number' });
    expect(await deviceFields(device.id)).not.toHaveProperty(field.key);
  });

  it('refuses to delete a field that a saved filter, view or schedule names, until they no longer do', async () => {
    const site = await addSite(t);
    const device = await addDevice(t, site.id);
    const byFilter = await create({ key: uniqueKey('rack'), type: 'string' });
    const byView = await create({ key: uniqueKey('owner'), type: 'string' });
    const bySchedule = await create({ key: uniqueKey('ring'), type: 'number' });
    const filter = ok(
      await createDeviceFilter({
        client: t.admin,
        body: {
          name: unique('racked'),
          expression: { field: `custom.${byFilter.key}`, op: 'eq', value: 'r1' },
        },
      }),
    );
    const view = ok(
      await createDeviceView({
        client: t.admin,
        body: { name: unique('owners'), columns: ['name', `custom.${byView.key}`] },
      }),
    );
    const schedule = ok(
      await createSchedule({
        client: t.admin,
        body: {
          name: unique('ring'),
          trigger: { kind: 'cron', cron: '0 2 * * *', time_zone: 'UTC' },
          job: {
            name: 'Ping ring 1',
            command: { type: 'ping' },
            target: { filter: { field: `custom.${bySchedule.key}`, op: 'eq', value: 1 } },
          },
        },
      }),
    );
    const remove = (field: CustomField) =>
      deleteCustomField({ client: t.admin, path: { custom_field_id: field.id } });
    for (const [field, user] of [
      [byFilter, filter.id],
      [byView, view.id],
      [bySchedule, schedule.id],
    ] as const) {
      const refused = expectProblem(await remove(field), 409, 'custom_field_in_use');
      expect(refused.detail).toContain(user);
    }
    ok(await deleteDeviceFilter({ client: t.admin, path: { filter_id: filter.id } }));
    ok(await deleteDeviceView({ client: t.admin, path: { view_id: view.id } }));
    ok(await deleteSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
    for (const field of [byFilter, byView, bySchedule])
      expect((await remove(field)).response.status).toBe(204);
    const shown = await deviceFields(device.id);
    for (const field of [byFilter, byView, bySchedule]) expect(shown).not.toHaveProperty(field.key);
  });

  it('stores what agents report of agent-writable fields and ignores the rest, saying why', async () => {
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    const serial = await create({ type: 'string', writer: 'agent' });
    const disk = await create({ type: 'number', writer: 'agent' });
    const owner = await create({ type: 'string', writer: 'operator', default: 'IT' });
    const heartbeat = (custom_fields?: Record<string, CustomFieldValue>) =>
      sendAgentHeartbeat({
        client: agent.client,
        body: {
          status: 'ok',
          agent_version: '1.0.0',
          uptime_seconds: 60,
          ...(custom_fields ? { custom_fields } : {}),
        },
      });

    const unknownKey = uniqueKey('unknown');
    const ack = ok(
      await heartbeat({
        [serial.key]: 'SN-123',
        [disk.key]: 'lots',
        [owner.key]: 'Agent says',
        [unknownKey]: 1,
      }),
    );
    expect(ack.status).toBe('online');
    expect(ack.ignored_custom_fields).toEqual([
      {
        key: disk.key,
        reason: 'invalid_value',
        message: `The value of ${disk.key} (number) must be a number.`,
      },
      {
        key: owner.key,
        reason: 'operator_only',
        message: `Custom field ${owner.key} is set by operators only.`,
      },
      { key: unknownKey, reason: 'unknown_field', message: `No custom field has the key ${unknownKey}.` },
    ]);
    expect(await deviceFields(agent.deviceId)).toMatchObject({ [serial.key]: 'SN-123', [owner.key]: 'IT' });
    expect(await deviceFields(agent.deviceId)).not.toHaveProperty(disk.key);

    expect(ok(await heartbeat({ [disk.key]: 81.5 })).ignored_custom_fields).toEqual([]);
    expect(ok(await heartbeat()).ignored_custom_fields).toBeUndefined();
    expect(await deviceFields(agent.deviceId)).toMatchObject({ [serial.key]: 'SN-123', [disk.key]: 81.5 });

    // Operators may set an agent-writable field; the agent's next report wins again.
    ok(await setValue(agent.deviceId, serial.key, 'SN-corrected'));
    expect((await deviceFields(agent.deviceId))[serial.key]).toBe('SN-corrected');
    ok(await heartbeat({ [serial.key]: 'SN-124' }));
    expect((await deviceFields(agent.deviceId))[serial.key]).toBe('SN-124');

    // A key that could never name a field is malformed input.
    expectProblem(await heartbeat({ 'Not-A-Key': 1 }), 400, 'validation_failed');
  });

  it('lets operators set values on their own sites only', async () => {
    const field = await create({ type: 'string' });
    const [siteA, siteB] = [await addSite(t), await addSite(t)];
    const device = await addDevice(t, siteA.id);
    const operatorA = await addMember(t, 'operator', [siteA.id]);
    const operatorB = await addMember(t, 'operator', [siteB.id]);
    const viewerA = await addMember(t, 'viewer', [siteA.id]);
    const path = { device_id: device.id, key: field.key };
    ok(await setDeviceCustomField({ client: operatorA.client, path, body: { value: 'mine' } }));
    expectProblem(
      await setDeviceCustomField({ client: operatorB.client, path, body: { value: 'theirs' } }),
      404,
      'not_found',
    );
    expectProblem(await deleteDeviceCustomField({ client: operatorB.client, path }), 404, 'not_found');
    expectProblem(
      await setDeviceCustomField({ client: viewerA.client, path, body: { value: 'no' } }),
      403,
      'insufficient_scope',
    );
    expectProblem(
      await createCustomField({
        client: operatorA.client,
        body: { key: uniqueKey('op'), label: 'Op', type: 'string' },
      }),
      403,
      'insufficient_scope',
    );
    // Reading definitions needs only devices:read.
    expect(ok(await getCustomField({ client: viewerA.client, path: { custom_field_id: field.id } }))).toEqual(
      field,
    );
    expect((await deviceFields(device.id))[field.key]).toBe('mine');
    expectProblem(
      await setDeviceCustomField({
        client: t.admin,
        path: { device_id: device.id, key: uniqueKey('nope') },
        body: { value: 1 },
      }),
      404,
      'not_found',
    );
  });
}

describe('custom fields (SQLite)', () => {
  customFieldSuite(useTestServer());
});

describe('custom fields (PostgreSQL)', () => {
  customFieldSuite(usePostgresServer());
});

describe('custom field limit', () => {
  const t = useTestServer();

  it('allows at most 100 definitions', async () => {
    const fields: CustomField[] = [];
    for (let n = 0; n < 100; n += 1)
      fields.push(
        ok(
          await createCustomField({
            client: t.admin,
            body: { key: `field_${n}`, label: `Field ${n}`, type: 'number', default: n },
          }),
        ),
      );
    expectProblem(
      await createCustomField({
        client: t.admin,
        body: { key: 'one_too_many', label: 'Too many', type: 'string' },
      }),
      409,
      'custom_field_limit_reached',
    );
    const site = await addSite(t);
    const device = await addDevice(t, site.id);
    expect(Object.keys(device.custom_fields)).toHaveLength(100);
    expect(device.custom_fields.field_42).toBe(42);
    expect(
      (await deleteCustomField({ client: t.admin, path: { custom_field_id: fields[0]!.id } })).response
        .status,
    ).toBe(204);
    ok(
      await createCustomField({
        client: t.admin,
        body: { key: 'one_more', label: 'One more', type: 'string' },
      }),
    );
  });
});
