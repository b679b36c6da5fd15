/**
 * Interoperability with the reference Standard Webhooks library, in both directions: what it
 * signs we verify, what we sign it verifies. Needs the `standardwebhooks` package as a
 * devDependency.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { webhooks } from '../src/index';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const BODY = JSON.stringify({
  type: 'device.online',
  timestamp: new Date().toISOString(),
  data: { device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ' },
});

describe('Standard Webhooks interoperability', () => {
  it('verifies what the standardwebhooks library signs', async () => {
    const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
    const timestamp = new Date();
    const signature = new Webhook(SECRET).sign(id, timestamp, BODY);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signature,
    };
    const event = await webhooks.unwrap(BODY, headers, SECRET);
    expect(event).toMatchObject({
      id,
      type: 'device.online',
      data: { device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ' },
    });
    await expect(webhooks.verify(`${BODY} `, headers, SECRET)).rejects.toThrow();
  });

  it('signs what the standardwebhooks library verifies', async () => {
    const headers = await webhooks.sign(BODY, SECRET);
    expect(new Webhook(SECRET).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
    expect(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(BODY, { ...headers }),
    ).toThrow();
  });
});
