/**
 * A snapshot of everything the server stores, to prove a refused request changed nothing.
 * `last_used_at` of API tokens is left out: authenticating a token records its use even when
 * the operation is then refused for lack of scope, and that is intended.
 */
import { readdir } from 'node:fs/promises';
import { sql } from 'kysely';
import type { FileBlobStore } from '../../server-stub/src/lifecycle/blob-store';
import type { TestServer } from './server';

const TABLES = [
  'users',
  'roles',
  'role_bindings',
  'role_binding_sites',
  'sessions',
  'api_tokens',
  'sites',
  'devices',
  'idempotency_keys',
  'enrollment_codes',
  'enrollment_requests',
  'agent_tokens',
  'events',
  'commands',
  'device_metrics',
  'device_inventories',
  'monitored_processes',
  'device_screenshots',
  'scripts',
  'script_versions',
  'agent_releases',
  'agent_release_artifacts',
  'software_block_entries',
  'software_block_overrides',
] as const;

export async function snapshot(t: TestServer): Promise<string> {
  const { db } = t.server.context;
  const tables: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by 1`.execute(
      db,
    );
    tables[table] = rows.map(({ last_used_at: _ignored, ...row }) => row);
  }
  // Stored files too: a refused upload must leave none (lifecycle/blob-store.ts).
  const { directory } = t.server.context.blobs as FileBlobStore;
  const files = await readdir(directory, { recursive: true }).catch(() => []);
  return JSON.stringify({ ...tables, blobs: files.sort() });
}
