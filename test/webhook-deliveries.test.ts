/**
 * Webhook deliveries to a real receiver (node:http on a free port), verified with the
 * `standardwebhooks` library and the SDK: events are delivered signed, failed attempts are
 * retried on the schedule (driven by the TestClock) with the same webhook-id until they succeed
 * or the delivery fails for good, a rotated secret signs beside the new one for 24 hours, a test
 * send answers its outcome (timeouts and redirects included), the target is checked again at
 * delivery time, and two instances on one PostgreSQL database send each attempt once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  createWebhook,
  getWebhook,
  listEvents,
  listWebhookDeliveries,
  Meridian,
  retryWebhookDelivery,
  rotateWebhookSecret,
  testWebhook,
  type WebhookCreated,
} from '@meridian/sdk';
import { insertEvent } from '../server-stub/src/observe/events-store';
import { RETRY_DELAYS_SECONDS } from '../server-stub/src/integrate/webhook-deliveries';
import { addAgent } from './support/agents';
import { startPostgres, type Postgres } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok, startTestServer, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { expectDeclared } from './support/webhook-events';
import { addSite } from './support/world';
import { startReceiver, type Receiver, type ReceivedWebhook } from './support/webhook-receiver';

const MISSING_WEBHOOK = 'whk_01JD7Q2M4N6P8R0S2T4V6W8X0Y';
const MISSING_DELIVERY = 'dlv_01JD7R3A5B7C9D1E3F5G7H9J1K';
const DAY_MS = 24 * 60 * 60 * 1000;

const headersOf = (request: ReceivedWebhook) => request.headers as Record<string, string>;

/** Verifies with the standardwebhooks library (which checks the timestamp against the real clock). */
const verifyWithLibrary = (secret: string, request: ReceivedWebhook) =>
  new Webhook(secret).verify(request.body, headersOf(request)) as {
    type: string;
    data: Record<string, unknown>;
  };

describe('webhook deliveries', () => {
  const t = useTestServer();
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  /** A webhook to the receiver, for these event types (all by default). */
  const hook = async (
    body: Partial<Parameters<typeof createWebhook>[0]['body']> = {},
  ): Promise<WebhookCreated> =>
    ok(await createWebhook({ client: t.admin, body: { url: receiver.url, ...body } }));

  const deliveries = async (webhookId: string) =>
    ok(await listWebhookDeliveries({ client: t.admin, path: { webhook_id: webhookId } })).data;

  /** An event of a new site (an agent enrolling), so only webhooks filtered to that site see it. */
  const enrolOn = async (siteId: string) => {
    const agent = await addAgent(t, siteId);
    await t.server.deliverWebhooks();
    return agent;
  };

  it('delivers an event once, signed so that the standardwebhooks library verifies it', async () => {
    const site = await addSite(t);
    const webhook = await hook({ event_types: ['device.enrolled'], site_id: site.id });
    const elsewhere = await hook({ event_types: ['device.offline'], site_id: site.id });
    receiver.received.length = 0;
    const agent = await enrolOn(site.id);
    expect(receiver.received).toHaveLength(1);
    const request = receiver.received[0]!;
    const event = verifyWithLibrary(webhook.secret, request);
    expect(event.type).toBe('device.enrolled');
    expect(event.data).toMatchObject({
      type: 'device.enrolled',
      device_id: agent.deviceId,
      site_id: site.id,
    });
    const unwrapped = await Meridian.webhooks.unwrap(request.body, headersOf(request), webhook.secret);
    expect(unwrapped).toMatchObject({ id: request.headers['webhook-id'], type: 'device.enrolled' });
    expectDeclared(request.body);
    if (unwrapped.type !== 'device.enrolled') throw new Error(`unwrapped a ${unwrapped.type}`);
    // narrowed on type: the device.enrolled data the spec declares
    expect(unwrapped.data.data.enrollment_request_id).toMatch(/^enr_/);
    expect(request.headers['content-type']).toBe('application/json');

    const [delivery] = await deliveries(webhook.id);
    expect(delivery).toMatchObject({
      id: request.headers['webhook-id'],
      event_type: 'device.enrolled',
      state: 'delivered',
      attempt_count: 1,
      next_attempt_at: null,
      attempts: [{ status_code: 200, response_body: 'ok', error: null }],
    });
    expect(await deliveries(elsewhere.id)).toEqual([]);
  });

  it('signs with the previous secret too for 24 hours after a rotation', async () => {
    const webhook = await hook({ event_types: ['device.offline'] });
    const rotated = ok(await rotateWebhookSecret({ client: t.admin, path: { webhook_id: webhook.id } }));
    receiver.received.length = 0;
    ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
    const during = receiver.received[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWithLibrary(webhook.secret, during).type).toBe('webhook.test');
    expect(verifyWithLibrary(rotated.secret, during).type).toBe('webhook.test');
    await Meridian.webhooks.verify(during.body, headersOf(during), webhook.secret);
    await Meridian.webhooks.verify(during.body, headersOf(during), rotated.secret);
    expectDeclared(during.body);
    const test = await Meridian.webhooks.unwrap(during.body, headersOf(during), rotated.secret);
    if (test.type !== 'webhook.test') throw new Error(`unwrapped a ${test.type}`);
    expect(test.data.webhook_id).toBe(webhook.id);

    await t.travel(DAY_MS + 1000);
    ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
    const after = receiver.received[1]!;
    const options = { now: t.clock.now() };
    await Meridian.webhooks.verify(after.body, headersOf(after), rotated.secret, options);
    await expect(
      Meridian.webhooks.verify(after.body, headersOf(after), webhook.secret, options),
    ).rejects.toThrow(/No signature/);
  });

  it('retries a failing endpoint on the schedule, with the same webhook-id, until it answers 2xx', async () => {
    const site = await addSite(t);
    const webhook = await hook({ site_id: site.id, event_types: ['device.enrolled'] });
    receiver.received.length = 0;
    receiver.answers = [
      { status: 500, body: 'x'.repeat(5000) },
      { status: 503, body: 'down for maintenance' },
    ];
    await enrolOn(site.id);
    let [delivery] = await deliveries(webhook.id);
    expect(delivery).toMatchObject({ state: 'pending', attempt_count: 1 });
    expect(delivery!.attempts[0]).toMatchObject({ status_code: 500, response_body: 'x'.repeat(1024) });
    const wait = Date.parse(delivery!.next_attempt_at!) - Date.parse(delivery!.attempts[0]!.attempted_at);
    expect(wait).toBeGreaterThanOrEqual(4000);
    expect(wait).toBeLessThanOrEqual(6100);

    await t.clock.advance(6500);
    await t.server.deliverWebhooks();
    [delivery] = await deliveries(webhook.id);
    expect(delivery).toMatchObject({ state: 'pending', attempt_count: 2 });
    expect(receiver.received).toHaveLength(2);

    await t.travel(6.5 * 60 * 1000);
    await t.server.deliverWebhooks();
    [delivery] = await deliveries(webhook.id);
    expect(delivery).toMatchObject({ state: 'delivered', attempt_count: 3, next_attempt_at: null });
    expect(delivery!.attempts.map((attempt) => attempt.status_code)).toEqual([500, 503, 200]);
    expect(receiver.received.map((request) => request.headers['webhook-id'])).toEqual([
      delivery!.id,
      delivery!.id,
      delivery!.id,
    ]);
    // Every attempt is signed afresh (its own timestamp) over the same body.
    expect(new Set(receiver.received.map((request) => request.body)).size).toBe(1);
    for (const request of receiver.received)
      await Meridian.webhooks.verify(request.body, headersOf(request), webhook.secret, {
        now: new Date(Number(request.headers['webhook-timestamp']) * 1000),
      });
  });

  it('fails a delivery after the last attempt, keeps it listed, and retries it on request', async () => {
    const site = await addSite(t);
    const webhook = await hook({ site_id: site.id, event_types: ['device.enrolled'] });
    receiver.received.length = 0;
    receiver.fallback = { status: 503, body: 'unavailable' };
    try {
      await enrolOn(site.id);
      const [pending] = await deliveries(webhook.id);
      const retryPending = await retryWebhookDelivery({
        client: t.admin,
        path: { webhook_id: webhook.id, delivery_id: pending!.id },
      });
      expectProblem(retryPending, 409, 'webhook_delivery_pending');
      for (const delay of RETRY_DELAYS_SECONDS) {
        await t.travel(delay * 1200 + 1000);
        await t.server.deliverWebhooks();
      }
    } finally {
      receiver.fallback = { status: 200, body: 'ok' };
    }
    const failed = ok(
      await listWebhookDeliveries({
        client: t.admin,
        path: { webhook_id: webhook.id },
        query: { state: 'failed' },
      }),
    ).data;
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ state: 'failed', attempt_count: 8, next_attempt_at: null });
    expect(receiver.received).toHaveLength(8);

    const path = { webhook_id: webhook.id, delivery_id: failed[0]!.id };
    const retried = await retryWebhookDelivery({ client: t.admin, path });
    expect(retried.response.status).toBe(202);
    expect(ok(retried)).toMatchObject({ state: 'pending', attempt_count: 8 });
    await t.server.deliverWebhooks();
    const [delivered] = await deliveries(webhook.id);
    expect(delivered).toMatchObject({ state: 'delivered', attempt_count: 9 });
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(failed[0]!.id);
  });

  it('answers a test send with its outcome, and follows no redirect', async () => {
    const webhook = await hook();
    receiver.answers = [{ status: 200, body: '{"received":true}' }];
    const sent = ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
    expect(sent).toMatchObject({
      event_type: 'webhook.test',
      event_id: null,
      state: 'delivered',
      attempts: [{ status_code: 200, response_body: '{"received":true}', error: null }],
    });
    expect(sent.attempts[0]!.latency_ms).toBeGreaterThanOrEqual(0);

    receiver.received.length = 0;
    receiver.answers = [{ status: 302, headers: { location: `${receiver.url}/elsewhere` } }];
    const redirected = ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
    expect(redirected).toMatchObject({ state: 'failed', attempts: [{ status_code: 302 }] });
    expect(receiver.received).toHaveLength(1);
  });

  it('records a timeout when the endpoint never answers (10 s)', async () => {
    const webhook = await hook();
    receiver.received.length = 0;
    receiver.answers = ['hang'];
    const pending = testWebhook({ client: t.admin, path: { webhook_id: webhook.id } });
    // The endpoint has the whole request and keeps it: only the timeout ends the attempt.
    await receiver.waitFor(1);
    await t.clock.advance(10_000);
    expect(ok(await pending)).toMatchObject({
      state: 'failed',
      attempts: [{ status_code: null, response_body: '', error: 'no answer within 10 s' }],
    });
  });

  it('disables an endpoint whose deliveries all failed for 5 days, with a webhook.disabled event', async () => {
    const site = await addSite(t);
    const webhook = await hook({ site_id: site.id, event_types: ['device.enrolled'] });
    const watcher = await hook({ event_types: ['webhook.disabled'] });
    /** An event to the failing endpoint, attempted until its delivery fails for good. */
    const failEveryAttempt = async () => {
      await enrolOn(site.id);
      for (const delay of RETRY_DELAYS_SECONDS) {
        await t.travel(delay * 1200 + 1000);
        await t.server.deliverWebhooks();
      }
    };
    const enabled = async () =>
      ok(await getWebhook({ client: t.admin, path: { webhook_id: webhook.id } })).enabled;
    receiver.fallback = { status: 500 };
    try {
      await failEveryAttempt();
      expect(await enabled()).toBe(true);
      await t.travel(4 * DAY_MS);
      await failEveryAttempt();
    } finally {
      receiver.fallback = { status: 200, body: 'ok' };
    }
    expect(await enabled()).toBe(false);
    // Endpoints of the tests before, taking every event, failed along and may be disabled too.
    const disabled = ok(
      await listEvents({ client: t.admin, query: { type: 'webhook.disabled', limit: 500 } }),
    ).data;
    const event = disabled.find((candidate) => candidate.data.webhook_id === webhook.id);
    expect(event).toMatchObject({ severity: 'warning', data: { webhook_id: webhook.id, url: receiver.url } });
    expect((await deliveries(watcher.id)).map((delivery) => delivery.event_id)).toContain(event!.id);
  });

  it('answers 404 for an unknown endpoint or delivery', async () => {
    const webhook = await hook();
    const path = { webhook_id: MISSING_WEBHOOK };
    expectProblem(await testWebhook({ client: t.admin, path }), 404, 'not_found');
    expectProblem(await listWebhookDeliveries({ client: t.admin, path }), 404, 'not_found');
    expectProblem(
      await retryWebhookDelivery({
        client: t.admin,
        path: { webhook_id: webhook.id, delivery_id: MISSING_DELIVERY },
      }),
      404,
      'not_found',
    );
  });
});

describe('webhook targets at delivery time', () => {
  const t = useTestServer({ webhooks: { allowPrivateTargets: false } });

  it('does not send to an address that is no longer allowed (DNS rebinding)', async () => {
    const receiver = await startReceiver();
    try {
      const webhook = ok(
        await createWebhook({ client: t.admin, body: { url: 'https://93.184.215.14/hook' } }),
      );
      // What a name that now resolves to a private address amounts to: the URL leads to loopback.
      await t.server.context.db
        .updateTable('webhooks')
        .set({ url: receiver.url })
        .where('id', '=', webhook.id)
        .execute();
      const sent = ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
      expect(sent).toMatchObject({ state: 'failed', attempts: [{ status_code: null }] });
      expect(sent.attempts[0]!.error).toMatch(/^Not sent: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback/);
      expect(receiver.received).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook delivery with two instances on one PostgreSQL database', () => {
  let pg: Postgres;
  let a: TestServer;
  let b: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    pg = await startPostgres();
    const webhooks = { allowPrivateTargets: true, secretsKey: 'a-key-shared-by-every-instance-0123456789' };
    a = await startTestServer({ database: pg.url, webhooks });
    b = await startTestServer({ database: pg.url, webhooks });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await a?.close();
    await b?.close();
    pg?.stop();
  });

  it('sends each attempt once', async () => {
    const webhook = ok(await createWebhook({ client: a.admin, body: { url: receiver.url } }));
    // Events written without waking either worker, so that both race for the same deliveries.
    for (let i = 0; i < 20; i++)
      await insertEvent(a.server.context.db, a.server.context, {
        type: 'device.offline',
        severity: 'warning',
        siteId: null,
        deviceId: null,
        message: `Device ${i} went offline`,
      });
    await Promise.all([a.server.deliverWebhooks(), b.server.deliverWebhooks()]);
    const ids = receiver.received.map((request) => request.headers['webhook-id']);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    for (const request of receiver.received)
      expect(verifyWithLibrary(webhook.secret, request).type).toBe('device.offline');
    const listed = ok(
      await listWebhookDeliveries({
        client: b.admin,
        path: { webhook_id: webhook.id },
        query: { limit: 500 },
      }),
    ).data;
    expect(listed.map((delivery) => [delivery.state, delivery.attempt_count])).toEqual(
      Array.from({ length: 20 }, () => ['delivered', 1]),
    );
  });
});
