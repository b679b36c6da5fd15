/**
 * Custom fields (definitions, and one typed value per device and field) and saved device views.
 *
 * A value sits in the column of its type, so filters compare it in SQL as its type on both engines:
 * value_text (string, enum, url, and date as `YYYY-MM-DD`, which sorts as text), value_number
 * (number) and value_boolean (0/1). A definition's default is kept the same way (default_text,
 * default_number, default_boolean), so "the value, or else the default" is a COALESCE.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('custom_fields')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('key', 'text', (col) => col.notNull().unique())
    .addColumn('label', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('options', 'text')
    .addColumn('writer', 'text', (col) => col.notNull())
    .addColumn('default_text', 'text')
    .addColumn('default_number', 'double precision')
    .addColumn('default_boolean', 'integer')
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('device_custom_field_values')
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('field_id', 'text', (col) => col.notNull().references('custom_fields.id').onDelete('cascade'))
    .addColumn('value_text', 'text')
    .addColumn('value_number', 'double precision')
    .addColumn('value_boolean', 'integer')
    .addColumn('set_by', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('device_custom_field_values_pk', ['device_id', 'field_id'])
    .execute();
  await db.schema
    .createIndex('device_custom_field_values_text')
    .on('device_custom_field_values')
    .columns(['field_id', 'value_text'])
    .execute();
  await db.schema
    .createIndex('device_custom_field_values_number')
    .on('device_custom_field_values')
    .columns(['field_id', 'value_number'])
    .execute();
  await db.schema
    .createTable('device_views')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('owner_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('visibility', 'text', (col) => col.notNull())
    .addColumn('filter_id', 'text')
    .addColumn('filter', 'text')
    .addColumn('sort', 'text')
    .addColumn('columns', 'text', (col) => col.notNull())
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('device_views_visibility_owner')
    .on('device_views')
    .columns(['visibility', 'owner_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('device_views').execute();
  await db.schema.dropTable('device_custom_field_values').execute();
  await db.schema.dropTable('custom_fields').execute();
}
