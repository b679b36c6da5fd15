/**
 * The script library: scripts created, read, updated under If-Match and deleted; every change
 * kept as a version (who and when, newest first, each readable by number); clones; export to a
 * portable document and import of it (here or after a change), with the bad documents refused;
 * parameters schemas that are not usable JSON Schema and bodies over 64 KiB refused.
 */
import { describe, expect, it } from 'vitest';
import {
  cloneScript,
  createScript,
  deleteScript,
  exportScript,
  getScript,
  getScriptVersion,
  importScript,
  listScripts,
  listScriptVersions,
  updateScript,
} from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { addMember, unique } from './support/world';

const MISSING = 'spt_01JD9C4E6G8J0K2M4P6R8T0V2X';
const PARAMETERS = {
  type: 'object',
  properties: { mount: { type: 'string', maxLength: 200 } },
  required: ['mount'],
};

describe('scripts', () => {
  const t = useTestServer();

  const create = async (overrides: Record<string, unknown> = {}) =>
    ok(
      await createScript({
        client: t.admin,
        body: {
          name: unique('Disk usage'),
          language: 'sh',
          body: 'df -h "$MERIDIAN_PARAM_MOUNT"\n',
          parameters: PARAMETERS,
          ...overrides,
        },
      }),
    );

  it('creates a script with its defaults as version 1, reads and lists it with its ETag', async () => {
    const created = await createScript({
      client: t.admin,
      body: { name: 'Uptime', language: 'bash', body: 'uptime\n' },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const script = ok(created);
    expect(script).toEqual({
      id: expect.stringMatching(/^spt_/),
      name: 'Uptime',
      description: '',
      language: 'bash',
      platforms: ['linux', 'macos'],
      body: 'uptime\n',
      parameters: { type: 'object' },
      timeout_seconds: 300,
      run_as: 'system',
      version: 1,
      created_by: expect.stringMatching(/^usr_/),
      created_at: expect.any(String),
      updated_at: script.created_at,
    });
    const read = await getScript({ client: t.admin, path: { script_id: script.id } });
    expect(read.response.headers.get('etag')).toBe('"1"');
    expect(ok(read)).toEqual(script);
    const powershell = await create({ language: 'powershell', body: 'Get-Volume\n', run_as: 'user' });
    expect(powershell).toMatchObject({ platforms: ['windows'], run_as: 'user' });
    const bash = ok(await listScripts({ client: t.admin, query: { language: 'bash', limit: 500 } })).data;
    expect(bash).toContainEqual(script);
    expect(bash.every((listed) => listed.language === 'bash')).toBe(true);
  });

  it('keeps every change as a version: who made it and when, newest first, each readable', async () => {
    const script = await create({ timeout_seconds: 60 });
    const other = await addMember(t, 'admin', []);
    const first = ok(
      await updateScript({
        client: other.client,
        path: { script_id: script.id },
        body: { body: 'df -hP "$MERIDIAN_PARAM_MOUNT"\n', platforms: ['linux'] },
        headers: { 'If-Match': '"1"' },
      }),
    );
    expect(first).toMatchObject({ version: 2, platforms: ['linux'], created_by: script.created_by });
    await t.travel(60_000);
    const second = await updateScript({
      client: t.admin,
      path: { script_id: script.id },
      body: { description: 'Checks one mount.' },
    });
    expect(second.response.headers.get('etag')).toBe('"3"');
    expect(ok(second).updated_at > first.updated_at).toBe(true);

    const versions = ok(await listScriptVersions({ client: t.admin, path: { script_id: script.id } })).data;
    expect(versions.map((version) => [version.version, version.changed_by])).toEqual([
      [3, script.created_by],
      [2, other.user.id],
      [1, script.created_by],
    ]);
    expect(versions[0]).toMatchObject({
      description: 'Checks one mount.',
      created_at: ok(second).updated_at,
    });
    expect(versions[2]).toMatchObject({
      body: script.body,
      platforms: script.platforms,
      timeout_seconds: 60,
    });

    const page = ok(
      await listScriptVersions({ client: t.admin, path: { script_id: script.id }, query: { limit: 2 } }),
    );
    expect(page.data.map((version) => version.version)).toEqual([3, 2]);
    const rest = ok(
      await listScriptVersions({
        client: t.admin,
        path: { script_id: script.id },
        query: { limit: 2, cursor: page.next_cursor! },
      }),
    );
    expect(rest).toEqual({ data: [versions[2]], next_cursor: null });

    const two = ok(await getScriptVersion({ client: t.admin, path: { script_id: script.id, version: 2 } }));
    expect(two).toEqual(versions[1]);
    expect(two.body).toBe('df -hP "$MERIDIAN_PARAM_MOUNT"\n');
    expectProblem(
      await getScriptVersion({ client: t.admin, path: { script_id: script.id, version: 4 } }),
      404,
      'not_found',
    );
    expectProblem(
      await getScriptVersion({ client: t.admin, path: { script_id: MISSING, version: 1 } }),
      404,
      'not_found',
    );
    expectProblem(
      await listScriptVersions({ client: t.admin, path: { script_id: MISSING } }),
      404,
      'not_found',
    );
  });

  it('refuses a stale If-Match with 412 and changes nothing', async () => {
    const script = await create();
    ok(await updateScript({ client: t.admin, path: { script_id: script.id }, body: { name: 'Renamed' } }));
    const before = await snapshot(t);
    const stale = await updateScript({
      client: t.admin,
      path: { script_id: script.id },
      body: { name: 'Lost update' },
      headers: { 'If-Match': '"1"' },
    });
    expectProblem(stale, 412, 'precondition_failed');
    expect(await snapshot(t)).toBe(before);
    expect(ok(await getScript({ client: t.admin, path: { script_id: script.id } })).name).toBe('Renamed');
  });

  it('clones the current content into a new script with its own history', async () => {
    const script = await create({ description: 'Original.' });
    ok(
      await updateScript({ client: t.admin, path: { script_id: script.id }, body: { timeout_seconds: 90 } }),
    );
    const clone = await cloneScript({ client: t.admin, path: { script_id: script.id }, body: {} });
    expect(clone.response.status).toBe(201);
    expect(clone.response.headers.get('etag')).toBe('"1"');
    const copy = ok(clone);
    expect(copy).toMatchObject({
      name: `${script.name} (copy)`,
      description: 'Original.',
      body: script.body,
      parameters: PARAMETERS,
      timeout_seconds: 90,
      version: 1,
    });
    expect(copy.id).not.toBe(script.id);
    const named = ok(
      await cloneScript({ client: t.admin, path: { script_id: script.id }, body: { name: 'Verbose' } }),
    );
    expect(named.name).toBe('Verbose');
    const history = ok(await listScriptVersions({ client: t.admin, path: { script_id: copy.id } })).data;
    expect(history.map((version) => version.version)).toEqual([1]);
    expectProblem(
      await cloneScript({ client: t.admin, path: { script_id: MISSING }, body: {} }),
      404,
      'not_found',
    );
  });

  it('exports a portable document that imports as a new script, here, after a change', async () => {
    const script = await create({ description: 'Exported.', run_as: 'user', platforms: ['linux'] });
    const exported = ok(await exportScript({ client: t.admin, path: { script_id: script.id } }));
    expect(exported).toEqual({
      format: 'meridian.script',
      format_version: 1,
      exported_at: expect.any(String),
      script: {
        name: script.name,
        description: 'Exported.',
        language: 'sh',
        platforms: ['linux'],
        body: script.body,
        parameters: PARAMETERS,
        timeout_seconds: 300,
        run_as: 'user',
      },
    });
    // The document is plain JSON: it survives being written to a file and read back.
    const document = JSON.parse(JSON.stringify(exported)) as typeof exported;
    await deleteScript({ client: t.admin, path: { script_id: script.id } });
    const imported = await importScript({ client: t.admin, body: document });
    expect(imported.response.status).toBe(201);
    const copy = ok(imported);
    expect(copy).toMatchObject({ ...exported.script, version: 1 });
    expect(copy.id).not.toBe(script.id);
    expect(ok(await exportScript({ client: t.admin, path: { script_id: copy.id } })).script).toEqual(
      exported.script,
    );
    expectProblem(await exportScript({ client: t.admin, path: { script_id: MISSING } }), 404, 'not_found');
  });

  it('refuses documents that are not export documents (400) or of a format version it does not read (422)', async () => {
    const script = await create();
    const exported = ok(await exportScript({ client: t.admin, path: { script_id: script.id } }));
    const before = await snapshot(t);
    const send = (body: unknown) => importScript({ client: t.admin, body: body as typeof exported });
    expectProblem(await send({ ...exported, format: 'other.thing' }), 400, 'validation_failed');
    expectProblem(await send({ format: exported.format, format_version: 1 }), 400, 'validation_failed');
    expectProblem(
      await send({ ...exported, script: { ...exported.script, language: 'cobol' } }),
      400,
      'validation_failed',
    );
    const newer = expectProblem(
      await send({ ...exported, format_version: 2 }),
      422,
      'unsupported_format_version',
    );
    expect(newer.errors).toEqual([{ path: '/body/format_version', message: 'must be 1' }]);
    expectProblem(
      await send({ ...exported, script: { ...exported.script, parameters: { type: 'object', foo: 1 } } }),
      422,
      'invalid_parameters_schema',
    );
    expect(await snapshot(t)).toBe(before);
  });

  it.each([
    [
      'a type that does not exist',
      { type: 'object', properties: { mount: { type: 'path' } } },
      '/properties/mount/type',
    ],
    ['an unknown keyword', { type: 'object', propertys: {} }, ''],
    ['a schema of something other than an object', { type: 'string' }, '/type'],
    [
      'a parameter name that is not an environment variable name',
      { type: 'object', properties: { 'a-b': {} } },
      '/properties/a-b',
    ],
    ['a reference it cannot resolve', { type: 'object', $ref: 'https://example.com/schema.json' }, ''],
    ['more than 16 KiB', { type: 'object', description: 'x'.repeat(17 * 1024) }, ''],
  ])('refuses a parameters schema with %s (422), at creation and update', async (_, parameters, path) => {
    const before = await snapshot(t);
    const refused = expectProblem(
      await createScript({
        client: t.admin,
        body: { name: 'Bad', language: 'sh', body: 'true\n', parameters },
      }),
      422,
      'invalid_parameters_schema',
    );
    expect(refused.errors![0]!.path).toBe(`/body/parameters${path}`);
    expect(await snapshot(t)).toBe(before);
    const script = await create();
    expectProblem(
      await updateScript({ client: t.admin, path: { script_id: script.id }, body: { parameters } }),
      422,
      'invalid_parameters_schema',
    );
    expect(ok(await getScript({ client: t.admin, path: { script_id: script.id } })).version).toBe(1);
  });

  it('takes a body of 64 KiB and refuses one character more', async () => {
    const largest = await create({ body: 'x'.repeat(65536) });
    expect(largest.body).toHaveLength(65536);
    const refused = expectProblem(
      await createScript({
        client: t.admin,
        body: { name: 'Too long', language: 'sh', body: 'x'.repeat(65537) },
      }),
      400,
      'validation_failed',
    );
    expect(refused.errors).toContainEqual(expect.objectContaining({ path: '/body/body' }));
  });

  it('deletes a script with its versions', async () => {
    const script = await create();
    const deleted = await deleteScript({ client: t.admin, path: { script_id: script.id } });
    expect(deleted.response.status).toBe(204);
    expectProblem(await getScript({ client: t.admin, path: { script_id: script.id } }), 404, 'not_found');
    expectProblem(
      await getScriptVersion({ client: t.admin, path: { script_id: script.id, version: 1 } }),
      404,
      'not_found',
    );
    expect(await snapshot(t)).not.toContain(script.id);
    expectProblem(await deleteScript({ client: t.admin, path: { script_id: script.id } }), 404, 'not_found');
    expectProblem(
      await updateScript({ client: t.admin, path: { script_id: script.id }, body: { name: 'Gone' } }),
      404,
      'not_found',
    );
  });

  it('lets operators and viewers read the library but only admins change it', async () => {
    const script = await create();
    for (const role of ['operator', 'viewer'] as const) {
      const member = await addMember(t, role, []);
      expect(ok(await getScript({ client: member.client, path: { script_id: script.id } }))).toEqual(script);
      expectProblem(
        await updateScript({ client: member.client, path: { script_id: script.id }, body: { name: 'No' } }),
        403,
        'insufficient_scope',
      );
    }
  });
});
