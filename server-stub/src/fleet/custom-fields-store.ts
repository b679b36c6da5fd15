/**
 * Custom fields: definitions, the typed check of every value written (by operators, in
 * definitions' defaults, or by agents in heartbeats), and the values each device shows.
 *
 * A value is stored in the column of its type (see store/schema.ts DeviceCustomFieldValuesTable),
 * so filters compare values as their type in SQL.
 */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type {
  CustomField,
  CustomFieldValue,
  CustomFieldValues,
  IgnoredCustomField,
} from '../generated/contract.gen';
import { problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { CustomFieldRow, CustomFieldType } from '../store/schema';

type CustomFieldBody = z.infer<typeof CustomField>;
type Value = z.infer<typeof CustomFieldValue>;
type Values = z.infer<typeof CustomFieldValues>;
type Ignored = z.infer<typeof IgnoredCustomField>;

/** How many definitions may exist: every device shows all of them (Device.custom_fields is bounded). */
export const MAX_CUSTOM_FIELDS = 100;
const MAX_STRING = 1000;

/** A value in the columns of its type; the other two are null. */
export interface TypedColumns {
  text: string | null;
  number: number | null;
  boolean: number | null;
}

/** What the field's type, and its options, need of a definition to check values. */
type FieldShape = Pick<CustomFieldRow, 'type' | 'options'>;

function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function isWebUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

export const optionsOf = (field: FieldShape): string[] | null =>
  field.options === null ? null : (JSON.parse(field.options) as string[]);

/** Why `value` does not fit the field, as "must be …", or undefined when it fits. */
function valueProblem(field: FieldShape, value: Value): string | undefined {
  switch (field.type) {
    case 'string':
      return typeof value === 'string' && value.length <= MAX_STRING
        ? undefined
        : `must be a string of at most ${MAX_STRING} characters`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'date':
      return typeof value === 'string' && isCalendarDate(value)
        ? undefined
        : 'must be a calendar date written YYYY-MM-DD';
    case 'enum': {
      const options = optionsOf(field) ?? [];
      return typeof value === 'string' && options.includes(value)
        ? undefined
        : `must be one of ${options.join(', ')}`;
    }
    case 'url':
      return typeof value === 'string' && isWebUrl(value)
        ? undefined
        : 'must be an absolute http or https URL';
  }
}

function columnsOf(type: CustomFieldType, value: Value): TypedColumns {
  if (type === 'number') return { text: null, number: value as number, boolean: null };
  if (type === 'boolean') return { text: null, number: null, boolean: value ? 1 : 0 };
  return { text: value as string, number: null, boolean: null };
}

/** The value in its columns, or the 422 `invalid_custom_field_value` naming what the type takes. */
export function checkedValue(field: FieldShape & { key: string }, value: Value, path: string): TypedColumns {
  const problem = valueProblem(field, value);
  if (problem !== undefined)
    throw problems.unprocessable(
      'invalid_custom_field_value',
      `The value of custom field ${field.key} (${field.type}) ${problem}.`,
      [{ path, message: problem }],
    );
  return columnsOf(field.type, value);
}

/** The value stored in the columns of `type`, or null when they hold none. */
function storedValue(
  type: CustomFieldType,
  text: string | null,
  number: number | null,
  boolean: number | null,
) {
  if (type === 'number') return number === null ? null : Number(number);
  if (type === 'boolean') return boolean === null ? null : boolean === 1;
  return text;
}

export const defaultOf = (row: CustomFieldRow): Value | null =>
  storedValue(row.type, row.default_text, row.default_number, row.default_boolean);

export function toCustomField(row: CustomFieldRow): CustomFieldBody {
  return {
    id: row.id,
    key: row.key,
    label: row.label,
    description: row.description,
    type: row.type,
    options: optionsOf(row),
    writer: row.writer,
    default: defaultOf(row),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export async function findCustomField(context: AppContext, id: string): Promise<CustomFieldRow> {
  return oneOrNotFound(
    context.db.selectFrom('custom_fields').selectAll().where('id', '=', id),
    'custom field',
    id,
  );
}

export async function findCustomFieldByKey(context: AppContext, key: string): Promise<CustomFieldRow> {
  return oneOrNotFound(
    context.db.selectFrom('custom_fields').selectAll().where('key', '=', key),
    'custom field',
    key,
  );
}

/**
 * Each device's `custom_fields`: its own value of every field, or else the field's default,
 * keys in alphabetical order; fields with neither are left out. Two queries for any number of devices.
 */
export async function customFieldsOf(
  context: AppContext,
  deviceIds: readonly string[],
): Promise<Map<string, Values>> {
  const byDevice = new Map<string, Values>(deviceIds.map((id) => [id, {}]));
  if (deviceIds.length === 0) return byDevice;
  const fields = await context.db.selectFrom('custom_fields').selectAll().orderBy('key').execute();
  if (fields.length === 0) return byDevice;
  const own = new Map<string, Value>();
  const rows = await context.db
    .selectFrom('device_custom_field_values')
    .selectAll()
    .where('device_id', 'in', [...deviceIds])
    .execute();
  const typeOf = new Map(fields.map((field) => [field.id, field.type]));
  for (const row of rows) {
    const value = storedValue(typeOf.get(row.field_id)!, row.value_text, row.value_number, row.value_boolean);
    if (value !== null) own.set(`${row.device_id} ${row.field_id}`, value);
  }
  for (const [deviceId, values] of byDevice)
    for (const field of fields) {
      const value = own.get(`${deviceId} ${field.id}`) ?? defaultOf(field);
      if (value !== null) values[field.key] = value;
    }
  return byDevice;
}

/** Writes one device's value of one field (replacing any earlier one). */
export async function writeValue(
  context: AppContext,
  deviceId: string,
  fieldId: string,
  columns: TypedColumns,
  setBy: 'agent' | 'operator',
): Promise<string> {
  const updatedAt = context.now().toISOString();
  const written = {
    value_text: columns.text,
    value_number: columns.number,
    value_boolean: columns.boolean,
    set_by: setBy,
    updated_at: updatedAt,
  };
  await context.db
    .insertInto('device_custom_field_values')
    .values({ device_id: deviceId, field_id: fieldId, ...written })
    .onConflict((oc) => oc.columns(['device_id', 'field_id']).doUpdateSet(written))
    .execute();
  return updatedAt;
}

/** What every custom field key looks like (the spec's CustomFieldKey). */
const KEY = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const MAX_KEY = 64;

/** 400 for a key that could never name a custom field (a map's keys are not checked by the schema). */
/**
 * What names the field by its key (`custom.<key>`): saved device filters, saved views (their
 * filter or columns) and schedules (the job each run starts). The JSON text is narrowed with
 * `like` and then checked exactly, since `_` in a key is a `like` wildcard.
 */
export async function customFieldUsers(context: AppContext, key: string): Promise<string[]> {
  const needle = JSON.stringify(`custom.${key}`);
  const pattern = `%${needle}%`;
  const names = (kind: string, rows: { id: string; text: string | null }[]) =>
    rows.filter((row) => row.text?.includes(needle)).map((row) => `${kind} ${row.id}`);
  const [filters, views, schedules] = await Promise.all([
    context.db
      .selectFrom('device_filters')
      .select(['id', 'expression as text'])
      .where('expression', 'like', pattern)
      .execute(),
    context.db
      .selectFrom('device_views')
      .select(['id', (eb) => eb.fn.coalesce('filter', eb.val('')).as('filter'), 'columns'])
      .where((eb) => eb.or([eb('filter', 'like', pattern), eb('columns', 'like', pattern)]))
      .execute(),
    context.db.selectFrom('schedules').select(['id', 'job as text']).where('job', 'like', pattern).execute(),
  ]);
  return [
    ...names('device filter', filters),
    ...names(
      'device view',
      views.map((view) => ({ id: view.id, text: `${view.filter}${view.columns}` })),
    ),
    ...names('schedule', schedules),
  ];
}

export function assertCustomFieldKeys(values: Values, path: string): void {
  const bad = Object.keys(values).filter((key) => key.length > MAX_KEY || !KEY.test(key));
  if (bad.length > 0)
    throw problems.validation(
      bad.map((key) => ({
        path: `${path}/${key.slice(0, MAX_KEY)}`,
        message: `Not a custom field key: keys are snake_case, at most ${MAX_KEY} characters.`,
      })),
    );
}

/**
 * Stores the agent-writable values an agent reported; a key that is unknown or operator-only,
 * or a value that does not fit its type, is not stored but returned with the reason, so a
 * definition deleted or changed by an operator never makes an agent's heartbeats fail.
 */
export async function writeAgentValues(
  context: AppContext,
  deviceId: string,
  values: Values,
): Promise<Ignored[]> {
  const keys = Object.keys(values);
  if (keys.length === 0) return [];
  const fields = new Map(
    (await context.db.selectFrom('custom_fields').selectAll().where('key', 'in', keys).execute()).map(
      (field) => [field.key, field],
    ),
  );
  const ignored: Ignored[] = [];
  for (const [key, value] of Object.entries(values)) {
    const field = fields.get(key);
    if (field === undefined) {
      ignored.push({ key, reason: 'unknown_field', message: `No custom field has the key ${key}.` });
    } else if (field.writer !== 'agent') {
      ignored.push({
        key,
        reason: 'operator_only',
        message: `Custom field ${key} is set by operators only.`,
      });
    } else {
      const problem = valueProblem(field, value);
      if (problem === undefined)
        await writeValue(context, deviceId, field.id, columnsOf(field.type, value), 'agent');
      else
        ignored.push({
          key,
          reason: 'invalid_value',
          message: `The value of ${key} (${field.type}) ${problem}.`,
        });
    }
  }
  return ignored;
}
