import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Webhook } from '../generated/contract.gen';
import { oneOrNotFound } from '../store/found';
import type { WebhookRow } from '../store/schema';

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
