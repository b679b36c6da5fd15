/**
 * An index for device filters, previews and job targets over a large fleet. Non-admins only ever
 * query the devices of their sites, and filters mostly name a site, so the index leads with
 * `site_id`; then `id`, so a site's first page in ID order is read in index order and stops after
 * `limit` matches instead of sorting every match; then the columns filters test most (platform,
 * status, type, last seen, the agent version and its sortable key, tags), so counting the matches
 * reads the index alone, without a row lookup per device, and a version comparison reads the
 * stored `meridian_version_key(agent_version)` rather than calling the function on every row
 * (SQLite registers it on each connection, database.ts; migration 018 creates it on PostgreSQL,
 * immutable). It replaces `devices_site_id`, which it starts with.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('devices_site_filter')
    .on('devices')
    .expression(
      sql`site_id, id, platform, status, device_type, last_seen_at, agent_version,
        meridian_version_key(agent_version), tags`,
    )
    .execute();
  await db.schema.dropIndex('devices_site_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('devices_site_id').on('devices').column('site_id').execute();
  await db.schema.dropIndex('devices_site_filter').execute();
}
