import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { isoAfter, nowIso } from '../context';
import { assertUsableSite } from '../fleet/sites-store';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { newId } from '../store/ids';
import type { WebhookRow } from '../store/schema';
import { PREVIOUS_SECRET_TTL_SECONDS, newWebhookSecret, sealWebhookSecret } from './webhook-secrets';
import { assertAllowedTarget } from './webhook-targets';
import { eventTypesColumn, findWebhook, toWebhook } from './webhooks-store';

export function webhooksHandlers(context: AppContext) {
  const { db } = context;
  const present = (row: WebhookRow) => toWebhook(context, row);

  const webhook = versionedRoutes(context, {
    table: 'webhooks',
    read: ({ params }: RouteArgs<{ webhook_id: string }>) => findWebhook(context, params.webhook_id),
    present,
  });

  return initServer().router(contract.webhookEndpoints, {
    listWebhooks: async ({ query }) => ({
      status: 200,
      body: await paginate(query, db.selectFrom('webhooks').selectAll(), present),
    }),

    createWebhook: async ({ body, req, res }) => {
      if (body.site_id) await assertUsableSite(context, principalOf(req), body.site_id);
      await assertAllowedTarget(context, body.url);
      const secret = newWebhookSecret();
      const now = nowIso(context);
      const row = {
        id: newId('whk'),
        url: body.url,
        description: body.description ?? '',
        event_types: eventTypesColumn(body.event_types),
        site_id: body.site_id ?? null,
        enabled: body.enabled === false ? 0 : 1,
        secret: sealWebhookSecret(context, secret),
        previous_secret: null,
        previous_secret_expires_at: null,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('webhooks').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: { ...present({ ...row, version: 1 }), secret } };
    },

    getWebhook: webhook.get,

    updateWebhook: webhook.update(
      async ({ body, req }: HandlerArgs<typeof contract.webhookEndpoints.updateWebhook>) => {
        if (body.site_id) await assertUsableSite(context, principalOf(req), body.site_id);
        if (body.url !== undefined) await assertAllowedTarget(context, body.url);
        return {
          ...(body.url === undefined ? {} : { url: body.url }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.event_types === undefined ? {} : { event_types: eventTypesColumn(body.event_types) }),
          ...(body.site_id === undefined ? {} : { site_id: body.site_id }),
          ...(body.enabled === undefined ? {} : { enabled: body.enabled ? 1 : 0 }),
        };
      },
    ),

    deleteWebhook: async ({ params }) => {
      await findWebhook(context, params.webhook_id);
      await db.deleteFrom('webhooks').where('id', '=', params.webhook_id).execute();
      return { status: 204, body: undefined };
    },

    rotateWebhookSecret: async ({ params }) => {
      const secret = newWebhookSecret();
      const previousExpiresAt = isoAfter(context, PREVIOUS_SECRET_TTL_SECONDS);
      // One statement: the current secret becomes the previous one, even under concurrent rotations.
      const result = await db
        .updateTable('webhooks')
        .set((eb) => ({
          previous_secret: eb.ref('secret'),
          previous_secret_expires_at: previousExpiresAt,
          secret: sealWebhookSecret(context, secret),
          version: eb('version', '+', 1),
          updated_at: nowIso(context),
        }))
        .where('id', '=', params.webhook_id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) await findWebhook(context, params.webhook_id);
      return { status: 200, body: { secret, previous_secret_expires_at: previousExpiresAt } };
    },
  });
}
