/**
 * DNS rebinding: the server resolves a target's host name to check it against the SSRF rule
 * (webhook-targets.ts), and then connects to the very address it checked, never resolving the
 * name again, for webhook deliveries and for e-mail through an SMTP server alike.
 *
 * The server's resolver is replaced by a hostile one: `localhost` resolves, for the server's
 * checks, to 127.0.0.2. The system's resolver, which a second resolution by the connection would
 * use, answers 127.0.0.1 for `localhost`. A receiver listens on each of the two addresses, on the
 * same port, so the one that gets the request shows which answer the connection followed. (The
 * checks allow loopback here so that both answers are local; in production the first answer is
 * the public address that passed the check, and the second 127.0.0.1.)
 */
import { describe, expect, it } from 'vitest';
import {
  createNotificationChannel,
  createWebhook,
  testNotificationChannel,
  testWebhook,
} from '@meridian/sdk';
import { ok } from './support/server';
import { SMTP_PASSWORD, SMTP_USER, startSmtpReceiver } from './support/smtp';
import { useTestServer } from './support/use-test-server';
import { startReceiver } from './support/webhook-receiver';

const CHECKED = '127.0.0.2';
const resolved: string[] = [];

describe('connections go to the address that was checked (DNS rebinding)', () => {
  const t = useTestServer({
    webhooks: {
      allowPrivateTargets: true,
      resolve: async (host) => {
        resolved.push(host);
        return [{ address: CHECKED, family: 4 }];
      },
    },
  });

  it('delivers a webhook to the checked address, not to where the name resolves again', async () => {
    const checked = await startReceiver(undefined, { host: CHECKED });
    const port = Number(new URL(checked.url).port);
    const elsewhere = await startReceiver(undefined, { host: '127.0.0.1', port });
    try {
      const webhook = ok(
        await createWebhook({ client: t.admin, body: { url: `http://localhost:${port}/hooks` } }),
      );
      resolved.length = 0;
      const sent = ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
      expect(resolved).toEqual(['localhost']);
      expect(sent).toMatchObject({ state: 'delivered', attempts: [{ status_code: 200 }] });
      expect(checked.received).toHaveLength(1);
      // The name, not the address, is what the request is for.
      expect(checked.received[0]!.headers.host).toBe(`localhost:${port}`);
      expect(elsewhere.received).toEqual([]);
    } finally {
      await checked.close();
      await elsewhere.close();
    }
  });

  it('sends e-mail through the checked address, not to where the name resolves again', async () => {
    const smtp = await startSmtpReceiver(CHECKED);
    try {
      const channel = ok(
        await createNotificationChannel({
          client: t.admin,
          body: {
            name: 'Rebound',
            kind: 'email',
            email: {
              host: 'localhost',
              port: smtp.port,
              tls: 'none',
              username: SMTP_USER,
              password: SMTP_PASSWORD,
              from: 'meridian@example.com',
              to: ['oncall@example.com'],
            },
          },
        }),
      );
      resolved.length = 0;
      const sent = ok(await testNotificationChannel({ client: t.admin, path: { channel_id: channel.id } }));
      expect(resolved).toEqual(['localhost']);
      expect(sent).toEqual({ delivered: true, latency_ms: expect.any(Number), error: null });
      expect(smtp.messages.map((message) => message.to)).toEqual([['oncall@example.com']]);
    } finally {
      await smtp.close();
    }
  });
});
