/**
 * Scripts on PostgreSQL: the version row written in the transaction of each change (If-Match
 * update), versions paged newest first, clone, export and import, and the versions deleted with
 * their script (foreign key cascade), through the SDK against a throwaway cluster.
 */
import { expect, it } from 'vitest';
import {
  cloneScript,
  createScript,
  deleteScript,
  exportScript,
  getScriptVersion,
  importScript,
  listScriptVersions,
  updateScript,
} from '@meridian/sdk';
import { usePostgresServer } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';

const t = usePostgresServer();

it('keeps a version per change, pages them newest first, clones, exports, imports and deletes', async () => {
  const script = ok(
    await createScript({
      client: t.admin,
      body: {
        name: 'Disk usage',
        language: 'bash',
        body: 'df -h "$MERIDIAN_PARAM_MOUNT"\n',
        parameters: { type: 'object', properties: { mount: { type: 'string', maxLength: 200 } } },
      },
    }),
  );
  for (const [version, timeout] of [
    [1, 60],
    [2, 120],
  ] as const) {
    const updated = await updateScript({
      client: t.admin,
      path: { script_id: script.id },
      body: { timeout_seconds: timeout },
      headers: { 'If-Match': `"${version}"` },
    });
    expect(updated.response.headers.get('etag')).toBe(`"${version + 1}"`);
  }
  expectProblem(
    await updateScript({
      client: t.admin,
      path: { script_id: script.id },
      body: { name: 'Stale' },
      headers: { 'If-Match': '"1"' },
    }),
    412,
    'precondition_failed',
  );

  const first = ok(
    await listScriptVersions({ client: t.admin, path: { script_id: script.id }, query: { limit: 2 } }),
  );
  expect(first.data.map((version) => [version.version, version.timeout_seconds])).toEqual([
    [3, 120],
    [2, 60],
  ]);
  const rest = ok(
    await listScriptVersions({
      client: t.admin,
      path: { script_id: script.id },
      query: { limit: 2, cursor: first.next_cursor! },
    }),
  );
  expect(rest.data.map((version) => [version.version, version.timeout_seconds])).toEqual([[1, 300]]);
  expect(
    ok(await getScriptVersion({ client: t.admin, path: { script_id: script.id, version: 2 } }))
      .timeout_seconds,
  ).toBe(60);

  const copy = ok(await cloneScript({ client: t.admin, path: { script_id: script.id }, body: {} }));
  expect(copy).toMatchObject({ name: 'Disk usage (copy)', timeout_seconds: 120, version: 1 });
  const exported = ok(await exportScript({ client: t.admin, path: { script_id: script.id } }));
  const imported = ok(await importScript({ client: t.admin, body: exported }));
  expect(imported).toMatchObject({ ...exported.script, version: 1 });

  expect((await deleteScript({ client: t.admin, path: { script_id: script.id } })).response.status).toBe(204);
  const stored = await snapshot(t);
  expect(stored).not.toContain(script.id);
  expect(stored).toContain(copy.id);
});
