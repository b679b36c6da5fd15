/**
 * Notification channels of kind `webhook`: a channel names a webhook endpoint, and each incident
 * event of a rule naming the channel becomes a delivery to that endpoint through the webhook
 * machinery (signed, retried on its schedule with the same webhook-id, in its delivery history),
 * received here by a real node:http receiver and verified with the `standardwebhooks` library.
 * GET /v1/notifications shows the delivery's outcome.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  createNotificationChannel,
  createWebhook,
  deleteWebhook,
  getNotificationChannel,
  listNotifications,
  listWebhookDeliveries,
  resolveIncident,
  testNotificationChannel,
  updateNotificationChannel,
  updateWebhook,
  type WebhookCreated,
} from '@meridian/sdk';
import { RETRY_DELAYS_SECONDS } from '../server-stub/src/integrate/webhook-deliveries';
import { openIncident } from './support/incidents';
import { startPostgres, type Postgres } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { type Receiver, type ReceivedWebhook, startReceiver } from './support/webhook-receiver';
import { addSite, unique } from './support/world';

const MISSING_WEBHOOK = 'whk_01JD7Q2M4N6P8R0S2T4V6W8X0Y';

const verify = (secret: string, request: ReceivedWebhook) =>
  new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
    type: string;
    data: { type: string; data: Record<string, unknown> };
  };

describe('webhook notification channels', () => {
  const t = useTestServer();
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  // Every test leaves no delivery pending, so each starts with a receiver that got nothing yet.
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.fallback = { status: 200, body: 'ok' };
  });

  /** An endpoint on the receiver that subscribes to test events only (not to incidents), unless told. */
  const endpoint = async (
    body: Partial<Parameters<typeof createWebhook>[0]['body']> = {},
  ): Promise<WebhookCreated> =>
    ok(
      await createWebhook({
        client: t.admin,
        body: { url: receiver.url, event_types: ['webhook.test'], ...body },
      }),
    );

  const channelTo = async (webhookId: string) =>
    ok(
      await createNotificationChannel({
        client: t.admin,
        body: { name: unique('Pager webhook'), kind: 'webhook', webhook: { webhook_id: webhookId } },
      }),
    );

  const notificationsOf = async (incidentId: string) =>
    ok(await listNotifications({ client: t.admin, query: { incident_id: incidentId } })).data;

  it('creates a channel naming a webhook endpoint', async () => {
    const webhook = await endpoint();
    const created = await createNotificationChannel({
      client: t.admin,
      body: { name: 'Pager webhook', kind: 'webhook', webhook: { webhook_id: webhook.id } },
    });
    expect(created.response.status).toBe(201);
    const channel = ok(created);
    expect(channel).toEqual({
      id: expect.stringMatching(/^nch_/),
      name: 'Pager webhook',
      kind: 'webhook',
      email: null,
      webhook: { webhook_id: webhook.id },
      enabled: true,
      created_at: expect.any(String),
      updated_at: channel.created_at,
    });
    expect(ok(await getNotificationChannel({ client: t.admin, path: { channel_id: channel.id } }))).toEqual(
      channel,
    );
    const other = await endpoint();
    const moved = ok(
      await updateNotificationChannel({
        client: t.admin,
        path: { channel_id: channel.id },
        body: { webhook: { webhook_id: other.id } },
      }),
    );
    expect(moved.webhook).toEqual({ webhook_id: other.id });
  });

  it('refuses an unknown endpoint and settings of the other kind (422), changing nothing', async () => {
    const before = await snapshot(t);
    const unknown = await createNotificationChannel({
      client: t.admin,
      body: { name: 'Pager', kind: 'webhook', webhook: { webhook_id: MISSING_WEBHOOK } },
    });
    expectProblem(unknown, 422, 'unknown_webhook');
    const missing = await createNotificationChannel({
      client: t.admin,
      body: { name: 'Pager', kind: 'webhook' },
    });
    expectProblem(missing, 422, 'channel_settings_mismatch');
    expect(missing.error).toMatchObject({ errors: [{ path: '/body/webhook' }] });
    const emailWithWebhook = await createNotificationChannel({
      client: t.admin,
      body: {
        name: 'Pager',
        kind: 'email',
        webhook: { webhook_id: MISSING_WEBHOOK },
        email: { host: '127.0.0.1', port: 25, tls: 'none', from: 'a@example.com', to: ['b@example.com'] },
      },
    });
    expectProblem(emailWithWebhook, 422, 'channel_settings_mismatch');
    expect(await snapshot(t)).toBe(before);

    const channel = await channelTo((await endpoint()).id);
    const path = { channel_id: channel.id };
    const toUnknown = await updateNotificationChannel({
      client: t.admin,
      path,
      body: { webhook: { webhook_id: MISSING_WEBHOOK } },
    });
    expectProblem(toUnknown, 422, 'unknown_webhook');
    const withEmail = await updateNotificationChannel({
      client: t.admin,
      path,
      body: {
        email: { host: '127.0.0.1', port: 25, tls: 'none', from: 'a@example.com', to: ['b@example.com'] },
      },
    });
    expectProblem(withEmail, 422, 'channel_settings_mismatch');
    expect(ok(await getNotificationChannel({ client: t.admin, path }))).toEqual(channel);
  });

  it('sends a test through the endpoint and answers its outcome', async () => {
    const webhook = await endpoint();
    const channel = await channelTo(webhook.id);
    const sent = ok(await testNotificationChannel({ client: t.admin, path: { channel_id: channel.id } }));
    expect(sent).toEqual({ delivered: true, latency_ms: expect.any(Number), error: null });
    expect(receiver.received).toHaveLength(1);
    const event = verify(webhook.secret, receiver.received[0]!);
    expect(event.type).toBe('webhook.test');
    const [delivery] = ok(
      await listWebhookDeliveries({ client: t.admin, path: { webhook_id: webhook.id } }),
    ).data;
    expect(delivery).toMatchObject({ id: receiver.received[0]!.headers['webhook-id'], state: 'delivered' });

    receiver.fallback = { status: 503, body: 'unavailable' };
    const refused = ok(await testNotificationChannel({ client: t.admin, path: { channel_id: channel.id } }));
    expect(refused).toEqual({
      delivered: false,
      latency_ms: expect.any(Number),
      error: 'HTTP 503: unavailable',
    });
  });

  it('delivers incident events to the endpoint, signed, even though it does not subscribe to them', async () => {
    const webhook = await endpoint();
    const channel = await channelTo(webhook.id);
    const { rule, incident } = await openIncident(t, [channel.id]);
    await t.server.deliverWebhooks();

    const [sent] = await notificationsOf(incident.id);
    expect(receiver.received).toHaveLength(1);
    const request = receiver.received[0]!;
    expect(request.headers['webhook-id']).toBe(sent!.webhook_delivery_id);
    const event = verify(webhook.secret, request);
    expect(event.type).toBe('incident.opened');
    expect(event.data).toMatchObject({
      type: 'incident.opened',
      data: { incident_id: incident.id, rule_id: rule.id },
    });
    expect(sent).toMatchObject({
      channel_id: channel.id,
      event_type: 'incident.opened',
      webhook_delivery_id: expect.stringMatching(/^dlv_/),
      state: 'sent',
      attempt_count: 1,
      last_error: null,
      next_attempt_at: null,
      sent_at: expect.any(String),
    });
    const [delivery] = ok(
      await listWebhookDeliveries({ client: t.admin, path: { webhook_id: webhook.id } }),
    ).data;
    expect(delivery).toMatchObject({ id: sent!.webhook_delivery_id, event_type: 'incident.opened' });

    ok(await resolveIncident({ client: t.admin, path: { incident_id: incident.id } }));
    await t.server.deliverWebhooks();
    expect(verify(webhook.secret, receiver.received[1]!).type).toBe('incident.resolved');
    expect((await notificationsOf(incident.id)).map((row) => [row.event_type, row.state])).toEqual([
      ['incident.opened', 'sent'],
      ['incident.resolved', 'sent'],
    ]);
    // The e-mail worker leaves webhook notifications alone.
    await t.server.sendNotifications();
    expect(receiver.received).toHaveLength(2);
  });

  it('an endpoint that subscribes to incident events gets each one once', async () => {
    const site = await addSite(t);
    const webhook = await endpoint({ event_types: ['incident.opened'], site_id: site.id });
    const channel = await channelTo(webhook.id);
    const { incident } = await openIncident(t, [channel.id], site.id);
    await t.server.deliverWebhooks();
    const deliveries = ok(
      await listWebhookDeliveries({ client: t.admin, path: { webhook_id: webhook.id } }),
    ).data;
    expect(deliveries).toMatchObject([{ event_type: 'incident.opened', state: 'delivered' }]);
    const [notification] = await notificationsOf(incident.id);
    expect(notification).toMatchObject({ state: 'sent', webhook_delivery_id: deliveries[0]!.id });
    // (The receiver may also get the earlier tests' incidents, which reopen at the sweep.)
    expect(
      receiver.received.filter((request) => request.headers['webhook-id'] === deliveries[0]!.id),
    ).toHaveLength(1);
  });

  it('retries a failing endpoint on the webhook schedule with the same webhook-id, then lists the notification as failed', async () => {
    const webhook = await endpoint();
    const channel = await channelTo(webhook.id);
    receiver.fallback = { status: 500, body: 'down' };
    const { incident } = await openIncident(t, [channel.id]);
    await t.server.deliverWebhooks();
    let [notification] = await notificationsOf(incident.id);
    expect(notification).toMatchObject({
      state: 'pending',
      attempt_count: 1,
      last_error: 'HTTP 500: down',
      next_attempt_at: expect.any(String),
    });
    for (const delay of RETRY_DELAYS_SECONDS) {
      await t.travel(delay * 1200 + 1000);
      await t.server.deliverWebhooks();
    }
    // (The receiver also gets what the other tests' channels are sent as their incidents resolve meanwhile.)
    const attempts = receiver.received.filter(
      (request) => request.headers['webhook-id'] === notification!.webhook_delivery_id,
    );
    expect(attempts).toHaveLength(RETRY_DELAYS_SECONDS.length + 1);
    // The first attempt verified (the library checks the timestamp against the real clock, which the TestClock left behind), the others the same body.
    expect(verify(webhook.secret, attempts[0]!).type).toBe('incident.opened');
    expect(new Set(attempts.map((request) => request.body)).size).toBe(1);
    [notification] = await notificationsOf(incident.id);
    expect(notification).toMatchObject({
      state: 'failed',
      attempt_count: RETRY_DELAYS_SECONDS.length + 1,
      next_attempt_at: null,
      sent_at: null,
      last_error: 'HTTP 500: down',
    });
    const failed = ok(
      await listNotifications({ client: t.admin, query: { state: 'failed', channel_id: channel.id } }),
    ).data;
    expect(failed.map((row) => row.id)).toEqual([notification!.id]);
    // (The incident has resolved meanwhile, and that notification is on its way.)
    const pending = ok(
      await listNotifications({ client: t.admin, query: { state: 'pending', channel_id: channel.id } }),
    ).data;
    expect(pending.map((row) => [row.id === notification!.id, row.event_type])).toEqual([
      [false, 'incident.resolved'],
    ]);
  });

  it('lists a notification to a disabled endpoint as failed at once, and a deleted endpoint takes its channel along', async () => {
    const webhook = await endpoint();
    const channel = await channelTo(webhook.id);
    ok(await updateWebhook({ client: t.admin, path: { webhook_id: webhook.id }, body: { enabled: false } }));
    const { incident } = await openIncident(t, [channel.id]);
    await t.server.deliverWebhooks();
    expect(receiver.received).toEqual([]);
    expect(await notificationsOf(incident.id)).toMatchObject([
      {
        state: 'failed',
        attempt_count: 0,
        webhook_delivery_id: null,
        last_error: `Not sent: the webhook endpoint ${webhook.id} is disabled.`,
      },
    ]);
    ok(await deleteWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
    expectProblem(
      await getNotificationChannel({ client: t.admin, path: { channel_id: channel.id } }),
      404,
      'not_found',
    );
  });
});

describe('webhook notification channels on PostgreSQL', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg.stop());
  const t = useTestServer(() => ({ database: pg.url }));

  it('delivers an incident to the channel endpoint, retried, and lists the outcome by state', async () => {
    const receiver = await startReceiver({ status: 503, body: 'unavailable' });
    try {
      const webhook = ok(
        await createWebhook({ client: t.admin, body: { url: receiver.url, event_types: ['webhook.test'] } }),
      );
      const channel = ok(
        await createNotificationChannel({
          client: t.admin,
          body: { name: 'Pager', kind: 'webhook', webhook: { webhook_id: webhook.id } },
        }),
      );
      const { incident } = await openIncident(t, [channel.id]);
      await t.server.deliverWebhooks();
      const query = { channel_id: channel.id, incident_id: incident.id };
      expect(
        ok(await listNotifications({ client: t.admin, query: { ...query, state: 'pending' } })).data,
      ).toMatchObject([
        { event_type: 'incident.opened', attempt_count: 1, last_error: 'HTTP 503: unavailable' },
      ]);
      receiver.fallback = { status: 204 };
      await t.travel(RETRY_DELAYS_SECONDS[0] * 1200 + 1000);
      await t.server.deliverWebhooks();
      const [sent] = ok(
        await listNotifications({ client: t.admin, query: { ...query, state: 'sent' } }),
      ).data;
      expect(sent).toMatchObject({ event_type: 'incident.opened', attempt_count: 2, last_error: null });
      expect(receiver.received.map((request) => request.headers['webhook-id'])).toEqual([
        sent!.webhook_delivery_id,
        sent!.webhook_delivery_id,
      ]);
    } finally {
      await receiver.close();
    }
  });
});
