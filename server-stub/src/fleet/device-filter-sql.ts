/**
 * Device filters: a JSON tree of `and` / `or` / `not` groups over conditions
 * (`{ field, op, value }`), checked here and compiled to one SQL condition on the `devices` table
 * that SQLite and PostgreSQL evaluate alike, so a filter never loads the fleet into memory.
 *
 * Every condition compiles to an expression that is true or false, never NULL (a condition on a
 * column without a value is false), so `not` is the complement of what it wraps on both engines.
 * Bad filters are 400 `invalid_filter`, each issue at the JSON path of its node (`…/and/2/op`).
 *
 * Jobs (targets), saved views, previews and the device list all go through `selectDevicesMatching`.
 */
import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { AppContext } from '../context';
import { ApiError, type FieldIssue } from '../http/problem';
import type { Principal } from '../http/principal';
import type { CustomFieldRow } from '../store/schema';
import { likeText } from '../store/search';
import { versionKey } from '../store/version-key';
import { selectDevices } from './devices-store';
import { findDeviceType } from './device-type-catalogue';

export const FILTER_LIMITS = {
  /** The root is at depth 1; each group's children one deeper. */
  depth: 6,
  /** Conditions in the whole tree. */
  conditions: 100,
  /** Values in one `in` / `not_in` / `has_any` / `has_all` / `has_none` list. */
  values: 100,
  /** Characters of one text value. */
  text: 200,
  /** `within_minutes` at most a year. */
  minutes: 525_600,
};

/** A filter as clients send it (DeviceFilterExpression in the spec). */
export type DeviceFilterExpression =
  | { and: DeviceFilterExpression[] }
  | { or: DeviceFilterExpression[] }
  | { not: DeviceFilterExpression }
  | { field: string; op: string; value?: unknown };

/** The kinds of field, each with its own operators. */
type Kind = 'keyword' | 'text' | 'version' | 'time' | 'tags' | 'number' | 'boolean' | 'date';

const OPERATORS: Record<Kind, readonly string[]> = {
  keyword: ['eq', 'ne', 'in', 'not_in'],
  text: ['eq', 'ne', 'in', 'not_in', 'contains', 'starts_with', 'ends_with', 'exists'],
  version: ['eq', 'ne', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'starts_with', 'exists'],
  time: ['before', 'after', 'within_minutes', 'exists'],
  tags: ['has', 'has_any', 'has_all', 'has_none'],
  number: ['eq', 'ne', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'exists'],
  boolean: ['eq', 'ne', 'exists'],
  date: ['eq', 'ne', 'in', 'not_in', 'before', 'after', 'exists'],
};

/** Every operator a filter may name, for the spec's enum and messages. */
export const FILTER_OPERATORS = [...new Set(Object.values(OPERATORS).flat())];

interface Field {
  /** A devices column, or the SQL of a custom field's value (or else its default). */
  column: string | Expression<unknown>;
  kind: Kind;
  /** A value every device has (no `exists`). */
  required?: true;
  /** Checks one value of an equality operator (returns the problem, if any). */
  check?: (value: string) => string | undefined;
}

const oneOf =
  (allowed: readonly string[]) =>
  (value: string): string | undefined =>
    allowed.includes(value) ? undefined : `Must be one of ${allowed.join(', ')}.`;

/** Device fields a filter can test; custom fields are `custom.<key>`. */
const FIELDS: Record<string, Field> = {
  status: {
    column: 'status',
    kind: 'keyword',
    required: true,
    check: oneOf(['pending', 'online', 'offline', 'degraded']),
  },
  platform: {
    column: 'platform',
    kind: 'keyword',
    required: true,
    check: oneOf(['windows', 'macos', 'linux', 'other']),
  },
  device_type: {
    column: 'device_type',
    kind: 'keyword',
    required: true,
    check: (value) => (findDeviceType(value) ? undefined : `No device type ${value} exists.`),
  },
  site_id: {
    column: 'site_id',
    kind: 'keyword',
    required: true,
    check: (value) => (/^site_[0-9A-HJKMNP-TV-Z]{26}$/.test(value) ? undefined : 'Must be a site ID.'),
  },
  tags: { column: 'tags', kind: 'tags', required: true },
  name: { column: 'name', kind: 'text', required: true },
  hostname: { column: 'hostname', kind: 'text' },
  os_name: { column: 'os_name', kind: 'text' },
  os_version: { column: 'os_version', kind: 'version' },
  agent_version: { column: 'agent_version', kind: 'version' },
  last_seen_at: { column: 'last_seen_at', kind: 'time' },
  enrolled_at: { column: 'enrolled_at', kind: 'time' },
  created_at: { column: 'created_at', kind: 'time', required: true },
};

export const FILTER_FIELDS = Object.keys(FIELDS);

/** A checked condition: its field resolved, its value of the right type. */
interface Condition {
  path: string;
  field: Field;
  op: string;
  value: unknown;
}

type Node =
  | { group: 'and' | 'or'; children: Node[] }
  | { group: 'not'; child: Node }
  | ({ group?: undefined } & Condition);

const VERSION = /^\d{1,9}(\.\d{1,9}){0,7}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CUSTOM = 'custom.';
const GROUPS = ['and', 'or', 'not'] as const;

class Checker {
  readonly issues: FieldIssue[] = [];
  conditions = 0;

  constructor(
    private readonly now: Date,
    private readonly customFields: ReadonlyMap<string, Field>,
  ) {}

  issue(path: string, message: string): undefined {
    if (this.issues.length < 20) this.issues.push({ path, message });
    return undefined;
  }

  node(raw: unknown, path: string, depth: number): Node | undefined {
    if (depth > FILTER_LIMITS.depth)
      return this.issue(path, `Filters nest at most ${FILTER_LIMITS.depth} levels deep.`);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      return this.issue(path, 'Must be an object: a group (and, or, not) or a condition (field, op, value).');
    const record = raw as Record<string, unknown>;
    const group = GROUPS.find((key) => key in record);
    if (group === undefined) return this.condition(record, path);
    const extra = Object.keys(record).find((key) => key !== group);
    if (extra !== undefined)
      return this.issue(`${path}/${extra}`, `A group has exactly one key (${group}); nothing beside it.`);
    const inner = record[group];
    if (group === 'not') {
      const child = this.node(inner, `${path}/not`, depth + 1);
      return child && { group, child };
    }
    if (!Array.isArray(inner) || inner.length === 0 || inner.length > FILTER_LIMITS.conditions)
      return this.issue(`${path}/${group}`, `Must be an array of 1 to ${FILTER_LIMITS.conditions} filters.`);
    const children = inner.map((child, index) => this.node(child, `${path}/${group}/${index}`, depth + 1));
    return children.every((child) => child !== undefined) ? { group, children } : undefined;
  }

  condition(record: Record<string, unknown>, path: string): Node | undefined {
    this.conditions += 1;
    if (this.conditions === FILTER_LIMITS.conditions + 1)
      this.issue(path, `A filter holds at most ${FILTER_LIMITS.conditions} conditions.`);
    const extra = Object.keys(record).find((key) => !['field', 'op', 'value'].includes(key));
    if (extra !== undefined)
      return this.issue(
        `${path}/${extra}`,
        'Unknown key: a condition has field, op and value; a group has one of and, or, not.',
      );
    const { field: name, op } = record;
    if (typeof name !== 'string') return this.issue(`${path}/field`, 'Required: the field to test.');
    const field = FIELDS[name] ?? this.customFields.get(name);
    if (!field)
      return this.issue(
        `${path}/field`,
        name.startsWith(CUSTOM)
          ? `No custom field ${name.slice(CUSTOM.length)} exists.`
          : `Unknown field ${name}; fields: ${FILTER_FIELDS.join(', ')}, or custom.<key>.`,
      );
    const operators = OPERATORS[field.kind].filter((each) => !(field.required && each === 'exists'));
    if (typeof op !== 'string' || !operators.includes(op))
      return this.issue(`${path}/op`, `${name} takes the operators ${operators.join(', ')}.`);
    const value = this.value(field, op, record.value, `${path}/value`);
    return value === undefined ? undefined : { path, field, op, value };
  }

  /** The value of a condition, checked and converted for SQL; undefined when refused. */
  value(field: Field, op: string, raw: unknown, path: string): unknown {
    const list = (each: (item: unknown, at: string) => unknown): unknown[] | undefined => {
      if (!Array.isArray(raw) || raw.length === 0 || raw.length > FILTER_LIMITS.values)
        return this.issue(path, `Must be an array of 1 to ${FILTER_LIMITS.values} values.`);
      const items = raw.map((item, index) => each(item, `${path}/${index}`));
      return items.every((item) => item !== undefined) ? items : undefined;
    };
    const text = (item: unknown, at: string, check = field.check): string | undefined => {
      if (typeof item !== 'string' || item.length === 0 || item.length > FILTER_LIMITS.text)
        return this.issue(at, `Must be a string of 1 to ${FILTER_LIMITS.text} characters.`);
      const problem = check?.(item);
      return problem === undefined ? item : this.issue(at, problem);
    };
    /** One value of the field's own type (booleans as 1/0, as they are stored). */
    const scalar = (item: unknown, at: string): unknown => {
      switch (field.kind) {
        case 'number':
          return typeof item === 'number' && Number.isFinite(item)
            ? item
            : this.issue(at, 'Must be a number.');
        case 'boolean':
          return typeof item === 'boolean' ? Number(item) : this.issue(at, 'Must be true or false.');
        case 'date':
          return typeof item === 'string' && DATE.test(item)
            ? item
            : this.issue(at, 'Must be a date as YYYY-MM-DD.');
        default:
          return text(item, at);
      }
    };
    switch (op) {
      case 'exists':
        return typeof raw === 'boolean' ? raw : this.issue(path, 'Must be true or false.');
      case 'in':
      case 'not_in':
      case 'has_any':
      case 'has_all':
      case 'has_none':
        return list(scalar);
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte':
        if (field.kind === 'number') return scalar(raw, path);
        return typeof raw === 'string' && VERSION.test(raw)
          ? versionKey(raw)
          : this.issue(path, 'Must be a version of dot-separated numbers, such as 2.4.1.');
      case 'before':
      case 'after':
        if (field.kind === 'date') return scalar(raw, path);
        return typeof raw === 'string' && !Number.isNaN(Date.parse(raw)) && /T.*(Z|[+-]\d\d:\d\d)$/.test(raw)
          ? new Date(raw).toISOString()
          : this.issue(path, 'Must be an RFC 3339 date-time, such as 2026-11-30T08:00:00Z.');
      case 'within_minutes':
        return Number.isInteger(raw) && (raw as number) >= 1 && (raw as number) <= FILTER_LIMITS.minutes
          ? new Date(this.now.getTime() - (raw as number) * 60_000).toISOString()
          : this.issue(path, `Must be a whole number of minutes from 1 to ${FILTER_LIMITS.minutes}.`);
      case 'contains':
      case 'starts_with':
      case 'ends_with':
        return text(raw, path, undefined);
      default:
        return scalar(raw, path);
    }
  }
}

/** A condition as SQL, never NULL. */
function conditionSql(context: AppContext, { field, op, value }: Condition): RawBuilder<SqlBool> {
  const column = typeof field.column === 'string' ? sql.ref(`devices.${field.column}`) : field.column;
  const present = (test: RawBuilder<SqlBool>) =>
    field.required ? test : sql<SqlBool>`(${column} is not null and ${test})`;
  // Tags are stored as a JSON array of strings that cannot hold `"` or `\` (the Tag pattern), so
  // `"<tag>"` occurs in that text exactly when the tag is one of its elements: a substring test,
  // far cheaper per row than unpacking the JSON.
  const hasTag = (tag: unknown) => {
    const quoted = JSON.stringify(tag);
    return context.engine === 'postgres'
      ? sql<SqlBool>`(strpos(${column}, ${quoted}) > 0)`
      : sql<SqlBool>`(instr(${column}, ${quoted}) > 0)`;
  };
  const values = value as string[];
  // Versions compare by their sortable key, numbers as numbers.
  const ordered = field.kind === 'version' ? sql`meridian_version_key(${column})` : column;
  switch (op) {
    case 'eq':
      return present(sql`${column} = ${value}`);
    case 'ne':
      return not(conditionSql(context, { field, op: 'eq', value } as Condition));
    case 'in':
      return present(sql`${column} in (${sql.join(values)})`);
    case 'not_in':
      return not(conditionSql(context, { field, op: 'in', value } as Condition));
    case 'contains':
    case 'starts_with':
    case 'ends_with':
      return present(likeText(column, value as string, op));
    case 'lt':
      return present(sql`${ordered} < ${value}`);
    case 'lte':
      return present(sql`${ordered} <= ${value}`);
    case 'gt':
      return present(sql`${ordered} > ${value}`);
    case 'gte':
      return present(sql`${ordered} >= ${value}`);
    case 'before':
      return present(sql`${column} < ${value}`);
    case 'after':
    case 'within_minutes':
      return present(sql`${column} >= ${value}`);
    case 'exists':
      return value ? sql<SqlBool>`(${column} is not null)` : sql<SqlBool>`(${column} is null)`;
    case 'has':
      return hasTag(value);
    case 'has_any':
      return group('or', values.map(hasTag));
    case 'has_all':
      return group('and', values.map(hasTag));
    case 'has_none':
      return not(group('or', values.map(hasTag)));
    default:
      throw new Error(`No SQL for operator ${op}`);
  }
}

const not = (inner: RawBuilder<SqlBool>) => sql<SqlBool>`(not ${inner})`;
const group = (kind: 'and' | 'or', parts: RawBuilder<SqlBool>[]) =>
  sql<SqlBool>`(${sql.join(parts, kind === 'and' ? sql` and ` : sql` or `)})`;

function nodeSql(context: AppContext, node: Node): RawBuilder<SqlBool> {
  if (node.group === 'not') return not(nodeSql(context, node.child));
  if (node.group === undefined) return conditionSql(context, node);
  return group(
    node.group,
    node.children.map((child) => nodeSql(context, child)),
  );
}

/**
 * Checks a filter and compiles it to a condition on the `devices` table; a bad filter throws
 * 400 `invalid_filter` with each issue at `at` + the JSON path of its node (`/body/expression`).
 */
export async function deviceFilterCondition(
  context: AppContext,
  expression: unknown,
  at: string,
): Promise<RawBuilder<SqlBool>> {
  const checker = new Checker(context.now(), await customFieldsOf(context, expression));
  const root = checker.node(expression, at, 1);
  if (!root || checker.issues.length > 0) throw invalidFilter(checker.issues);
  return nodeSql(context, root);
}

/** The custom fields a filter names (`custom.<key>`), as fields it can test. */
async function customFieldsOf(context: AppContext, expression: unknown): Promise<Map<string, Field>> {
  const keys = new Set<string>();
  const walk = (raw: unknown, depth: number): void => {
    if (depth > FILTER_LIMITS.depth || raw === null || typeof raw !== 'object') return;
    const { field, and, or, not } = raw as Record<string, unknown>;
    if (typeof field === 'string' && field.startsWith(CUSTOM)) keys.add(field.slice(CUSTOM.length));
    for (const child of [and, or].flatMap((list) => (Array.isArray(list) ? list : [])))
      walk(child, depth + 1);
    walk(not, depth + 1);
  };
  walk(expression, 1);
  if (keys.size === 0 || keys.size > FILTER_LIMITS.conditions) return new Map();
  const definitions = await context.db
    .selectFrom('custom_fields')
    .selectAll()
    .where('key', 'in', [...keys])
    .execute();
  return new Map(definitions.map((definition) => [`${CUSTOM}${definition.key}`, customField(definition)]));
}

/** A custom field's value on a device (its row, or else the field's default) as a field to test. */
function customField(definition: CustomFieldRow): Field {
  const [column, fallback, kind]: [string, unknown, Kind] =
    definition.type === 'number'
      ? ['value_number', definition.default_number, 'number']
      : definition.type === 'boolean'
        ? ['value_boolean', definition.default_boolean, 'boolean']
        : ['value_text', definition.default_text, definition.type === 'date' ? 'date' : 'text'];
  const options = definition.options === null ? undefined : (JSON.parse(definition.options) as string[]);
  return {
    column: sql`coalesce((select v.${sql.ref(column)} from device_custom_field_values v
      where v.device_id = devices.id and v.field_id = ${definition.id}), ${fallback})`,
    kind,
    ...(options ? { check: oneOf(options) } : {}),
  };
}

export function invalidFilter(issues: FieldIssue[]): ApiError {
  return new ApiError(
    400,
    'invalid_filter',
    'Invalid filter',
    'The device filter is not valid: see errors for the path of each bad node.',
    issues,
  );
}

/** The devices on the principal's sites that match `expression` (see deviceFilterCondition). */
export async function selectDevicesMatching(
  context: AppContext,
  principal: Principal,
  expression: unknown,
  at: string,
) {
  const condition = await deviceFilterCondition(context, expression, at);
  return selectDevices(context, principal).where(condition);
}
