import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf, visibleSiteIds } from '../http/principal';
import { oneOrNotFound } from '../store/found';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { AlertRuleRow } from '../store/schema';
import {
  assertValidRule,
  firingDevices,
  type RuleSettings,
  settingsOf,
  toAlertRule,
} from './alert-rules-store';

/** The columns that store a rule's settings (all of them for whole settings). */
function settingsColumns(settings: RuleSettings): Required<ReturnType<typeof changedColumns>>;
function settingsColumns(settings: Partial<RuleSettings>): ReturnType<typeof changedColumns>;
function settingsColumns(settings: Partial<RuleSettings>) {
  return changedColumns(settings);
}

function changedColumns(settings: Partial<RuleSettings>) {
  const { scope, excluded_device_ids, threshold_overrides, channel_ids, ...plain } = settings;
  return {
    ...plain,
    ...(channel_ids === undefined ? {} : { channel_ids: JSON.stringify(channel_ids) }),
    ...(scope === undefined ? {} : { scope: JSON.stringify(scope) }),
    ...(excluded_device_ids === undefined
      ? {}
      : { excluded_device_ids: JSON.stringify(excluded_device_ids) }),
    ...(threshold_overrides === undefined
      ? {}
      : { threshold_overrides: JSON.stringify(threshold_overrides) }),
  };
}

export function alertRulesHandlers(context: AppContext) {
  const { db } = context;

  const findRule = (id: string): Promise<AlertRuleRow> =>
    oneOrNotFound(db.selectFrom('alert_rules').selectAll().where('id', '=', id), 'alert rule', id);

  const rules = versionedRoutes(context, {
    table: 'alert_rules',
    read: ({ params }: RouteArgs<{ rule_id: string }>) => findRule(params.rule_id),
    present: toAlertRule,
  });

  return initServer().router(contract.alertRules, {
    listAlertRules: async ({ query }) => {
      const select = whereEqual(db.selectFrom('alert_rules').selectAll(), {
        kind: query.kind,
        enabled: query.enabled === undefined ? undefined : Number(query.enabled),
      });
      return { status: 200, body: await paginate(query, select, toAlertRule) };
    },

    createAlertRule: async ({ body, res }) => {
      const settings = settingsOf(body);
      await assertValidRule(context, settings);
      const now = context.now().toISOString();
      const row = {
        id: newId('alr'),
        name: body.name,
        description: body.description ?? '',
        enabled: body.enabled === false ? 0 : 1,
        ...settingsColumns(settings),
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('alert_rules').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: toAlertRule(await findRule(row.id)) };
    },

    previewAlertRule: async ({ body, req }) => {
      const settings = settingsOf(body);
      await assertValidRule(context, settings);
      const evaluatedAt = context.now().toISOString();
      const firing = await firingDevices(context, settings, visibleSiteIds(principalOf(req)));
      const devices = firing.map(({ device_id, site_id, name }) => ({ device_id, site_id, name }));
      return { status: 200, body: { evaluated_at: evaluatedAt, devices } };
    },

    getAlertRule: rules.get,

    updateAlertRule: rules.update(
      async ({ body }: HandlerArgs<typeof contract.alertRules.updateAlertRule>, current) => {
        const { name, description, enabled, ...settings } = body;
        await assertValidRule(
          context,
          { ...toAlertRule(current), ...settings },
          { newScope: settings.scope !== undefined },
        );
        return {
          ...settingsColumns(settings),
          ...(name === undefined ? {} : { name }),
          ...(description === undefined ? {} : { description }),
          ...(enabled === undefined ? {} : { enabled: enabled ? 1 : 0 }),
        };
      },
    ),

    deleteAlertRule: async ({ params }) => {
      const rule = await findRule(params.rule_id);
      await db.deleteFrom('alert_rules').where('id', '=', rule.id).execute();
      return { status: 204, body: undefined };
    },
  });
}
