/**
 * Simulated events: an admin raises an event of any type for a device, a site or the fleet, and
 * it flows like a real one, to the event log and to webhooks (a real receiver verifies it).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createWebhook, getEvent, simulateEvent } from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { startReceiver, type Receiver } from './support/webhook-receiver';
import { addDevice, addSite } from './support/world';

const t = useTestServer();
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

it('records the event on the device and its site and delivers it to webhooks, marked simulated', async () => {
  const site = await addSite(t);
  const device = await addDevice(t, site.id);
  const webhook = ok(
    await createWebhook({
      client: t.admin,
      body: { url: receiver.url, event_types: ['device.offline'], site_id: site.id },
    }),
  );
  const created = await simulateEvent({
    client: t.admin,
    body: { type: 'device.offline', severity: 'warning', device_id: device.id, data: { reason: 'drill' } },
  });
  expect(created.response.status).toBe(201);
  const event = ok(created);
  expect(event).toMatchObject({
    type: 'device.offline',
    severity: 'warning',
    source: 'system',
    site_id: site.id,
    device_id: device.id,
    message: 'Simulated device.offline event',
    data: { reason: 'drill', simulated: true },
  });
  expect(ok(await getEvent({ client: t.admin, path: { event_id: event.id } }))).toEqual(event);
  await t.server.deliverWebhooks();
  const [request] = receiver.received;
  const delivered = new Webhook(webhook.secret).verify(
    request!.body,
    request!.headers as Record<string, string>,
  );
  expect(delivered).toMatchObject({
    type: 'device.offline',
    data: { id: event.id, data: { simulated: true } },
  });
});

it('raises fleet-wide events, with defaults', async () => {
  const event = ok(await simulateEvent({ client: t.admin, body: { type: 'agent.process_crash' } }));
  expect(event).toMatchObject({
    severity: 'info',
    site_id: null,
    device_id: null,
    data: { simulated: true },
  });
});

it('refuses an unknown device or site, and a site that is not the device’s (422)', async () => {
  const site = await addSite(t);
  const other = await addSite(t);
  const device = await addDevice(t, site.id);
  const unknownDevice = 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ';
  expectProblem(
    await simulateEvent({ client: t.admin, body: { type: 'device.offline', device_id: unknownDevice } }),
    422,
    'unknown_device',
  );
  expectProblem(
    await simulateEvent({
      client: t.admin,
      body: { type: 'device.offline', site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M' },
    }),
    422,
    'unknown_site',
  );
  expectProblem(
    await simulateEvent({
      client: t.admin,
      body: { type: 'device.offline', device_id: device.id, site_id: other.id },
    }),
    422,
    'event_site_mismatch',
  );
});
