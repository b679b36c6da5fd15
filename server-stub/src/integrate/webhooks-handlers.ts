import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { isoAfter, nowIso } from '../context';
import { assertUsableSite } from '../fleet/sites-store';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { WebhookRow } from '../store/schema';
import { PREVIOUS_SECRET_TTL_SECONDS, newWebhookSecret, sealWebhookSecret } from './webhook-secrets';
import { assertAllowedTarget } from './webhook-targets';
import { attemptNow, createTestDelivery, DELIVERIES_TOPIC } from './webhook-deliveries';
import { eventTypesColumn, findDelivery, findWebhook, toWebhook, withAttempts } from './webhooks-store';

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

    testWebhook: async ({ params }) => {
      await findWebhook(context, params.webhook_id);
      const delivery = await createTestDelivery(context, params.webhook_id);
      await attemptNow(context, delivery);
      const [sent] = await withAttempts(context, [
        await findDelivery(context, params.webhook_id, delivery.id),
      ]);
      return { status: 200, body: sent! };
    },

    listWebhookDeliveries: async ({ params, query }) => {
      await findWebhook(context, params.webhook_id);
      const page = await paginate(
        query,
        whereEqual(
          db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', params.webhook_id),
          { state: query.state },
        ),
        (row) => row,
      );
      return { status: 200, body: { ...page, data: await withAttempts(context, page.data) } };
    },

    retryWebhookDelivery: async ({ params }) => {
      const delivery = await findDelivery(context, params.webhook_id, params.delivery_id);
      // One more attempt, at once; conditional on the state read, so two retries schedule one.
      const result = await db
        .updateTable('webhook_deliveries')
        .set({
          state: 'pending',
          attempts_allowed: delivery.attempt_count + 1,
          next_attempt_at: nowIso(context),
        })
        .where('id', '=', delivery.id)
        .where('state', '!=', 'pending')
        .where('attempt_count', '=', delivery.attempt_count)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        throw problems.conflict(
          'webhook_delivery_pending',
          `Delivery ${delivery.id} is still pending: its next attempt is already scheduled.`,
        );
      context.signals.notify(DELIVERIES_TOPIC);
      const [retried] = await withAttempts(context, [
        await findDelivery(context, params.webhook_id, delivery.id),
      ]);
      return { status: 202, body: retried! };
    },
  });
}
