/**
 * The device list at 100,000 devices: indexes in the order http/pagination.ts `paginate` reads a
 * page, so a first or a deep page of a filtered, sorted list reads its rows in index order and
 * stops after `limit` instead of sorting every match. paginate orders by the sort column, then by
 * `id`, and starts a page after the cursor's `(column, id)`; so, for the list unfiltered and for
 * each of its two common filters (`site_id`, `status`), one index per sort (`name`, `last_seen_at`,
 * `status`, `created_at`, and none: ID order). `last_seen_at` is sorted by a generated column,
 * `last_seen_key` (`coalesce(last_seen_at, '')`: never seen sorts first ascending, as paginate
 * sorts a nullable column): SQLite seeks to a cursor's `(column, id)` in an index of plain columns
 * only, not of expressions (on one of `coalesce(…), id`, a page 90% deep read 90% of the index). Already there: the primary key (ID order),
 * `devices_site_filter` (022, starts with site_id, id). The site indexes also serve non-admins,
 * whose lists are limited to their sites.
 *
 * Text search (`q`: name or hostname contains the text, ignoring case), fleet/devices-store.ts:
 * on SQLite an FTS5 table with the trigram tokenizer over the two columns, external content kept
 * in step with `devices` by triggers, keyed by the devices' rowid (a table with indexes keeps its
 * rowids through VACUUM); on PostgreSQL `pg_trgm` GIN indexes on `lower(name)` and
 * `lower(hostname)`, which serve the same `lower(column) like '%text%'` the list already runs.
 */
import { type Kysely, sql } from 'kysely';
import { isPostgres } from './018-device-filters';

/** Each index: its name and the expressions it orders by. */
const LIST_INDEXES: [string, string][] = [
  ['devices_status_id', 'status, id'],
  ['devices_name_id', 'name, id'],
  ['devices_last_seen_id', 'last_seen_key, id'],
  ['devices_created_id', 'created_at, id'],
  ['devices_site_name_id', 'site_id, name, id'],
  ['devices_site_last_seen_id', 'site_id, last_seen_key, id'],
  ['devices_site_status_id', 'site_id, status, id'],
  ['devices_site_created_id', 'site_id, created_at, id'],
  ['devices_status_name_id', 'status, name, id'],
  ['devices_status_last_seen_id', 'status, last_seen_key, id'],
  ['devices_status_created_id', 'status, created_at, id'],
];

const SQLITE_SEARCH = [
  `create virtual table devices_search using fts5(
    name, hostname, content = 'devices', content_rowid = 'rowid', tokenize = 'trigram')`,
  `create trigger devices_search_insert after insert on devices begin
    insert into devices_search (rowid, name, hostname) values (new.rowid, new.name, new.hostname);
  end`,
  `create trigger devices_search_delete after delete on devices begin
    insert into devices_search (devices_search, rowid, name, hostname)
      values ('delete', old.rowid, old.name, old.hostname);
  end`,
  `create trigger devices_search_update after update of name, hostname on devices
    when old.name is not new.name or old.hostname is not new.hostname begin
    insert into devices_search (devices_search, rowid, name, hostname)
      values ('delete', old.rowid, old.name, old.hostname);
    insert into devices_search (rowid, name, hostname) values (new.rowid, new.name, new.hostname);
  end`,
  `insert into devices_search (devices_search) values ('rebuild')`,
];

const POSTGRES_SEARCH = [
  'create extension if not exists pg_trgm',
  'create index devices_name_trgm on devices using gin (lower(name) gin_trgm_ops)',
  'create index devices_hostname_trgm on devices using gin (lower(hostname) gin_trgm_ops)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // SQLite adds only virtual generated columns to a table; PostgreSQL 15 only stored ones.
  await sql
    .raw(
      `alter table devices add column last_seen_key text generated always as (coalesce(last_seen_at, ''))
        ${isPostgres(db) ? 'stored' : 'virtual'}`,
    )
    .execute(db);
  for (const [name, expressions] of LIST_INDEXES)
    await db.schema.createIndex(name).on('devices').expression(sql.raw(expressions)).execute();
  for (const statement of isPostgres(db) ? POSTGRES_SEARCH : SQLITE_SEARCH)
    await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name] of LIST_INDEXES) await db.schema.dropIndex(name).execute();
  await db.schema.alterTable('devices').dropColumn('last_seen_key').execute();
  if (isPostgres(db)) {
    await db.schema.dropIndex('devices_name_trgm').execute();
    await db.schema.dropIndex('devices_hostname_trgm').execute();
  } else {
    for (const trigger of ['insert', 'delete', 'update'])
      await sql.raw(`drop trigger devices_search_${trigger}`).execute(db);
    await sql`drop table devices_search`.execute(db);
  }
}
