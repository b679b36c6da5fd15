/**
 * Nothing is lost when the server dies mid-delivery: a server on a SQLite file is killed with
 * SIGKILL while its endpoint is still answering, and once restarted on the same file it delivers
 * the event again, with the same webhook-id. The child's timers are real, so its attempt timeout
 * is 2 s: the lease it held runs out 7 s after it claimed the delivery.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  createSite,
  createWebhook,
  listWebhookDeliveries,
  registerDevice,
  revokeDeviceCredentials,
} from '@meridian/sdk';
import { signIn, startChild } from './support/child';
import { ADMIN, ok } from './support/server';
import { startReceiver } from './support/webhook-receiver';

it('delivers after a SIGKILL mid-delivery and a restart, with the same webhook-id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-crash-'));
  const receiver = await startReceiver();
  receiver.answers = ['hang'];
  const options = {
    database: join(dir, 'meridian.sqlite'),
    port: 0,
    host: '127.0.0.1',
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
    passwordCost: 2 ** 10,
    webhooks: {
      allowPrivateTargets: true,
      secretsKey: 'the-key-of-this-deployment-0123456789',
      attemptTimeoutSeconds: 2,
    },
  };
  let child = await startChild(options);
  try {
    const admin = await signIn(child.url);
    const webhook = ok(
      await createWebhook({
        client: admin,
        body: { url: receiver.url, event_types: ['device.credentials_revoked'] },
      }),
    );
    const site = ok(await createSite({ client: admin, body: { name: 'Crash test site' } }));
    const { device } = ok(
      await registerDevice({ client: admin, body: { name: 'crash-1', site_id: site.id, platform: 'linux' } }),
    );
    ok(await revokeDeviceCredentials({ client: admin, path: { device_id: device.id } }));
    const first = await receiver.waitFor(1);
    const exited = new Promise((resolve) => child.process.once('exit', resolve));
    child.process.kill('SIGKILL');
    await exited;

    child = await startChild(options);
    const again = await receiver.waitFor(2);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again.body).toBe(first.body);
    const event = new Webhook(webhook.secret).verify(again.body, again.headers as Record<string, string>);
    expect(event).toMatchObject({ type: 'device.credentials_revoked', data: { device_id: device.id } });
    const [delivery] = ok(
      await listWebhookDeliveries({ client: await signIn(child.url), path: { webhook_id: webhook.id } }),
    ).data;
    // The killed attempt was never recorded; the one after the restart was.
    expect(delivery).toMatchObject({ id: first.headers['webhook-id'], state: 'delivered', attempt_count: 1 });
  } finally {
    child.process.kill('SIGKILL');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
