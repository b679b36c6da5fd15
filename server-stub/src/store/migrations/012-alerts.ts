/**
 * Alert rules and the incidents they open: one incident per rule and device at a time, which a
 * unique index on the incidents not yet resolved enforces even with several instances
 * evaluating the same rules; and each incident's timeline.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('alert_rules')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('severity', 'text', (col) => col.notNull())
    .addColumn('enabled', 'integer', (col) => col.notNull())
    .addColumn('duration_minutes', 'integer', (col) => col.notNull())
    .addColumn('scope', 'text', (col) => col.notNull())
    .addColumn('excluded_device_ids', 'text', (col) => col.notNull())
    .addColumn('metric', 'text')
    .addColumn('threshold_percent', 'double precision')
    .addColumn('threshold_overrides', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text')
    .addColumn('event_severity', 'text')
    .addColumn('event_text', 'text')
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('rule_id', 'text', (col) => col.notNull())
    .addColumn('rule_name', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('site_id', 'text', (col) => col.notNull())
    .addColumn('severity', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('summary', 'text', (col) => col.notNull())
    .addColumn('opened_at', 'text', (col) => col.notNull())
    .addColumn('reopen_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('acknowledged_at', 'text')
    .addColumn('acknowledged_by', 'text')
    .addColumn('resolved_at', 'text')
    .addColumn('resolved_by', 'text')
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('incidents_one_unresolved')
    .on('incidents')
    .columns(['rule_id', 'device_id'])
    .unique()
    .where(sql.ref('state'), '!=', 'resolved')
    .execute();
  await db.schema
    .createIndex('incidents_rule_device')
    .on('incidents')
    .columns(['rule_id', 'device_id'])
    .execute();

  await db.schema
    .createTable('incident_timeline')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('incident_id', 'text', (col) => col.notNull().references('incidents.id').onDelete('cascade'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('at', 'text', (col) => col.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('note', 'text')
    .execute();
  await db.schema
    .createIndex('incident_timeline_incident')
    .on('incident_timeline')
    .column('incident_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('incident_timeline').execute();
  await db.schema.dropTable('incidents').execute();
  await db.schema.dropTable('alert_rules').execute();
}
