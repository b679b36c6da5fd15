import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Webhook, WebhookDelivery } from '../generated/contract.gen';
import { oneOrNotFound } from '../store/found';
import type { WebhookAttemptRow, WebhookDeliveryRow, WebhookRow } from '../store/schema';

/** The endpoint as the API shows it: never its secrets; a previous secret only while it still signs. */
export function toWebhook(context: AppContext, row: WebhookRow): z.infer<typeof Webhook> {
  const previousSigns =
    row.previous_secret_expires_at !== null && row.previous_secret_expires_at > context.now().toISOString();
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.event_types === null ? null : (JSON.parse(row.event_types) as string[]),
    site_id: row.site_id,
    enabled: row.enabled === 1,
    previous_secret_expires_at: previousSigns ? row.previous_secret_expires_at : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function findWebhook(context: AppContext, id: string): Promise<WebhookRow> {
  return oneOrNotFound(
    context.db.selectFrom('webhooks').selectAll().where('id', '=', id),
    'webhook endpoint',
    id,
  );
}

/** The event_types column: a JSON array, or null for every event. */
export const eventTypesColumn = (types: readonly string[] | null | undefined): string | null =>
  types === null || types === undefined ? null : JSON.stringify(types);

/** Deliveries with their attempts (oldest first), read in one query for the lot. */
export async function withAttempts(
  context: AppContext,
  deliveries: readonly WebhookDeliveryRow[],
): Promise<z.infer<typeof WebhookDelivery>[]> {
  const attempts: WebhookAttemptRow[] =
    deliveries.length === 0
      ? []
      : await context.db
          .selectFrom('webhook_attempts')
          .selectAll()
          .where(
            'delivery_id',
            'in',
            deliveries.map((delivery) => delivery.id),
          )
          .orderBy('attempted_at')
          .orderBy('id')
          .execute();
  return deliveries.map((row) => ({
    id: row.id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event_type: row.event_type,
    state: row.state,
    attempt_count: row.attempt_count,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
    attempts: attempts
      .filter((attempt) => attempt.delivery_id === row.id)
      .map((attempt) => ({
        attempted_at: attempt.attempted_at,
        status_code: attempt.status_code,
        latency_ms: attempt.latency_ms,
        response_body: attempt.response_body,
        error: attempt.error,
      })),
  }));
}

export async function findDelivery(
  context: AppContext,
  webhookId: string,
  id: string,
): Promise<WebhookDeliveryRow> {
  return oneOrNotFound(
    context.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('id', '=', id),
    'delivery',
    id,
  );
}
