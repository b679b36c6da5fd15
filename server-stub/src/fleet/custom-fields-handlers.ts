import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract, type CustomFieldValue } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import type { CustomFieldRow } from '../store/schema';
import {
  checkedValue,
  customFieldUsers,
  findCustomField,
  findCustomFieldByKey,
  MAX_CUSTOM_FIELDS,
  optionsOf,
  toCustomField,
  writeValue,
} from './custom-fields-store';
import { findVisibleDevice } from './devices-store';

type Value = z.infer<typeof CustomFieldValue>;

/** The default's columns: null, or the value checked like any other (422 when it does not fit). */
function defaultColumns(field: Pick<CustomFieldRow, 'key' | 'type' | 'options'>, value: Value | null) {
  const columns =
    value === null
      ? { text: null, number: null, boolean: null }
      : checkedValue(field, value, '/body/default');
  return { default_text: columns.text, default_number: columns.number, default_boolean: columns.boolean };
}

/** `options` belong to enum fields, which need them. */
function checkOptions(type: CustomFieldRow['type'], options: readonly string[] | undefined): void {
  if (type === 'enum' && options === undefined)
    throw problems.unprocessable('custom_field_options_required', 'An enum custom field needs its options.', [
      { path: '/body/options', message: 'required for type enum' },
    ]);
  if (type !== 'enum' && options !== undefined)
    throw problems.unprocessable(
      'custom_field_options_not_allowed',
      `Only enum custom fields take options; this one is of type ${type}.`,
      [{ path: '/body/options', message: `not allowed for type ${type}` }],
    );
}

export function customFieldsHandlers(context: AppContext) {
  const { db } = context;

  const field = versionedRoutes(context, {
    table: 'custom_fields',
    read: ({ params }: RouteArgs<{ custom_field_id: string }>) =>
      findCustomField(context, params.custom_field_id),
    present: toCustomField,
  });

  /** Dropping an enum option some device still holds would leave it a value the field refuses. */
  async function assertOptionsKeepValues(current: CustomFieldRow, options: readonly string[]): Promise<void> {
    const dropped = (optionsOf(current) ?? []).filter((option) => !options.includes(option));
    if (dropped.length === 0) return;
    const held = await db
      .selectFrom('device_custom_field_values')
      .select('value_text')
      .distinct()
      .where('field_id', '=', current.id)
      .where('value_text', 'in', dropped)
      .execute();
    if (held.length > 0)
      throw problems.conflict(
        'custom_field_option_in_use',
        `Devices still have ${held.map((row) => row.value_text).join(', ')} in ${current.key}; change their values first.`,
      );
  }

  return initServer().router(contract.customFields, {
    listCustomFields: async ({ query }) => ({
      status: 200,
      body: await paginate(query, db.selectFrom('custom_fields').selectAll(), toCustomField),
    }),

    createCustomField: async ({ body, res }) => {
      checkOptions(body.type, body.options);
      if (await db.selectFrom('custom_fields').select('id').where('key', '=', body.key).executeTakeFirst())
        throw problems.conflict(
          'custom_field_key_taken',
          `A custom field with the key ${body.key} already exists.`,
        );
      const { count } = await db
        .selectFrom('custom_fields')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      if (Number(count) >= MAX_CUSTOM_FIELDS)
        throw problems.conflict(
          'custom_field_limit_reached',
          `There can be at most ${MAX_CUSTOM_FIELDS} custom fields; delete one first.`,
        );
      const now = nowIso(context);
      const options = body.options === undefined ? null : JSON.stringify(body.options);
      const row = {
        id: newId('cfd'),
        key: body.key,
        label: body.label,
        description: body.description ?? '',
        type: body.type,
        options,
        writer: body.writer ?? 'operator',
        ...defaultColumns({ key: body.key, type: body.type, options }, body.default ?? null),
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('custom_fields').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: toCustomField({ ...row, version: 1 }) };
    },

    getCustomField: field.get,

    updateCustomField: field.update(
      async ({ body }: HandlerArgs<typeof contract.customFields.updateCustomField>, current) => {
        if (body.options !== undefined) {
          checkOptions(current.type, body.options);
          await assertOptionsKeepValues(current, body.options);
        }
        const options = body.options === undefined ? current.options : JSON.stringify(body.options);
        const changed = { ...current, options };
        return {
          ...(body.label === undefined ? {} : { label: body.label }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.writer === undefined ? {} : { writer: body.writer }),
          ...(body.options === undefined ? {} : { options }),
          // The default is checked again when the options change: it must stay one of them.
          ...(body.default === undefined && body.options === undefined
            ? {}
            : defaultColumns(
                changed,
                body.default === undefined ? toCustomField(current).default : body.default,
              )),
        };
      },
    ),

    deleteCustomField: async ({ params }) => {
      const field = await findCustomField(context, params.custom_field_id);
      const users = await customFieldUsers(context, field.key);
      if (users.length > 0) {
        throw problems.conflict(
          'custom_field_in_use',
          `The custom field ${field.key} is named by ${users.slice(0, 20).join(', ')}; change those first.`,
        );
      }
      // The foreign key deletes every device's value with it.
      await db.deleteFrom('custom_fields').where('id', '=', params.custom_field_id).execute();
      return { status: 204, body: undefined };
    },

    setDeviceCustomField: async ({ params, body, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const definition = await findCustomFieldByKey(context, params.key);
      const columns = checkedValue(definition, body.value, '/body/value');
      const updatedAt = await writeValue(context, device.id, definition.id, columns, 'operator');
      return {
        status: 200,
        body: {
          device_id: device.id,
          key: definition.key,
          value: body.value,
          set_by: 'operator' as const,
          updated_at: updatedAt,
        },
      };
    },

    deleteDeviceCustomField: async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const definition = await findCustomFieldByKey(context, params.key);
      await db
        .deleteFrom('device_custom_field_values')
        .where('device_id', '=', device.id)
        .where('field_id', '=', definition.id)
        .execute();
      return { status: 204, body: undefined };
    },
  });
}
