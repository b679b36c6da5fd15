/**
 * Notification channels of kind `webhook`: a channel names the webhook endpoint it delivers
 * through (deleting the endpoint deletes the channel), and a notification to such a channel names
 * the webhook delivery that carries it, whose outcome is the notification's. Deliveries are
 * found by event, to reuse the one an endpoint subscribing to the event already gets.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('notification_channels')
    .addColumn('webhook_id', 'text', (col) => col.references('webhooks.id').onDelete('cascade'))
    .execute();
  await db.schema
    .alterTable('notifications')
    .addColumn('webhook_delivery_id', 'text', (col) =>
      col.references('webhook_deliveries.id').onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_event')
    .on('webhook_deliveries')
    .columns(['event_id', 'webhook_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('webhook_deliveries_event').execute();
  await db.schema.alterTable('notifications').dropColumn('webhook_delivery_id').execute();
  await db.schema.alterTable('notification_channels').dropColumn('webhook_id').execute();
}
