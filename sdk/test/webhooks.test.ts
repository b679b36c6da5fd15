/**
 * Standard Webhooks verification, checked against signatures computed independently with
 * node:crypto (the SDK itself only uses WebCrypto) and the published Standard Webhooks vector.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Meridian, WebhookVerificationError, webhooks, type WebhookEvent } from '../src/index';

const KEY = randomBytes(24);
const SECRET = `whsec_${KEY.toString('base64')}`;
const NOW = new Date('2026-11-02T10:00:00.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const BODY = JSON.stringify({
  type: 'device.offline',
  timestamp: '2026-11-02T09:59:58.000Z',
  data: { device_id: 'dev_1', site_id: 'site_1' },
});

/** What a Meridian server (or any Standard Webhooks sender) would send, computed with node:crypto. */
function signedByNode(
  body: string | Buffer,
  options: { id?: string; timestamp?: number; key?: Buffer } = {},
): Record<string, string> {
  const id = options.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const timestamp = String(options.timestamp ?? NOW_SECONDS);
  const signature = createHmac('sha256', options.key ?? KEY)
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookVerificationError);
  return error as WebhookVerificationError;
}

describe('webhooks.verify', () => {
  it('is reachable as Meridian.webhooks', () => {
    expect(Meridian.webhooks).toBe(webhooks);
  });

  it('accepts the published Standard Webhooks test vector', async () => {
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const now = new Date(1614265330 * 1000);
    await expect(
      webhooks.verify('{"test": 2432232314}', headers, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { now }),
    ).resolves.toBeUndefined();
    await rejection(
      webhooks.verify('{"test": 2432232315}', headers, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { now }),
    );
  });

  it('accepts a body signed with node:crypto, as a string, bytes or ArrayBuffer, with Headers or a record', async () => {
    const headers = signedByNode(BODY);
    const bytes = new TextEncoder().encode(BODY);
    await webhooks.verify(BODY, headers, SECRET, { now: NOW });
    await webhooks.verify(Buffer.from(BODY), headers, SECRET, { now: NOW });
    await webhooks.verify(bytes, new Headers(headers), SECRET, { now: NOW });
    await webhooks.verify(bytes.buffer, headers, SECRET, { now: NOW });
    const shouting = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toUpperCase(), [value]]),
    );
    await webhooks.verify(BODY, shouting, SECRET, { now: NOW });
    await webhooks.verify(BODY, headers, KEY, { now: NOW });
    await webhooks.verify(BODY, headers, KEY.toString('base64'), { now: NOW });
  });

  it('signs exactly like node:crypto', async () => {
    const ours = await webhooks.sign(BODY, SECRET, { id: 'msg_1', timestamp: NOW });
    expect(ours).toEqual(signedByNode(BODY, { id: 'msg_1' }));
    const generated = await webhooks.sign(BODY, SECRET);
    expect(generated['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    await webhooks.verify(BODY, generated, SECRET);
  });

  it('verifies bytes that are not valid UTF-8 byte for byte', async () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    await webhooks.verify(body, signedByNode(body), SECRET, { now: NOW });
  });

  it('passes when any one of several signatures matches (secret rotation)', async () => {
    const headers = signedByNode(BODY);
    const other = signedByNode(BODY, { key: randomBytes(24) })['webhook-signature'];
    headers['webhook-signature'] = `v1a,c2lnbmF0dXJl ${other} ${headers['webhook-signature']}`;
    await webhooks.verify(BODY, headers, SECRET, { now: NOW });
  });

  it('refuses a changed body, another secret, a forged signature', async () => {
    const headers = signedByNode(BODY);
    expect(
      (await rejection(webhooks.verify(BODY.replace('dev_1', 'dev_2'), headers, SECRET, { now: NOW })))
        .message,
    ).toContain('pass the raw request body');
    await rejection(
      webhooks.verify(BODY, headers, `whsec_${randomBytes(24).toString('base64')}`, { now: NOW }),
    );
    await rejection(webhooks.verify(BODY, { ...headers, 'webhook-id': 'msg_other' }, SECRET, { now: NOW }));
    await rejection(
      webhooks.verify(BODY, { ...headers, 'webhook-signature': 'v1,AAAA' }, SECRET, { now: NOW }),
    );
    for (const index of [0, 15, 31]) {
      const bytes = Buffer.from(headers['webhook-signature']!.slice(3), 'base64');
      bytes[index] = bytes[index]! ^ 0x01;
      await rejection(
        webhooks.verify(BODY, { ...headers, 'webhook-signature': `v1,${bytes.toString('base64')}` }, SECRET, {
          now: NOW,
        }),
      );
    }
    await rejection(
      webhooks.verify(BODY, { ...headers, 'webhook-signature': 'v1,not base64!' }, SECRET, { now: NOW }),
    );
    expect(
      (
        await rejection(
          webhooks.verify(
            BODY,
            { ...headers, 'webhook-signature': `v2,${headers['webhook-signature']!.slice(3)}` },
            SECRET,
            { now: NOW },
          ),
        )
      ).message,
    ).toContain('no v1 signature');
  });

  it('allows 5 minutes of clock difference both ways, and no more', async () => {
    for (const offset of [-300, -299, 0, 299, 300]) {
      await webhooks.verify(BODY, signedByNode(BODY, { timestamp: NOW_SECONDS + offset }), SECRET, {
        now: NOW,
      });
    }
    expect(
      (
        await rejection(
          webhooks.verify(BODY, signedByNode(BODY, { timestamp: NOW_SECONDS - 301 }), SECRET, { now: NOW }),
        )
      ).message,
    ).toContain('301 s old');
    expect(
      (
        await rejection(
          webhooks.verify(BODY, signedByNode(BODY, { timestamp: NOW_SECONDS + 301 }), SECRET, { now: NOW }),
        )
      ).message,
    ).toContain('in the future');
    await webhooks.verify(BODY, signedByNode(BODY, { timestamp: NOW_SECONDS - 3600 }), SECRET, {
      now: NOW,
      toleranceSeconds: 3600,
    });
    await rejection(
      webhooks.verify(BODY, { ...signedByNode(BODY), 'webhook-timestamp': '2026-11-02T10:00:00Z' }, SECRET, {
        now: NOW,
      }),
    );
  });

  it('tells the usual cause: a parsed body, missing headers, a mangled secret', async () => {
    const headers = signedByNode(BODY);
    const parsed = await rejection(webhooks.verify(JSON.parse(BODY) as never, headers, SECRET, { now: NOW }));
    expect(parsed.message).toMatch(/raw request body.*not a parsed object/);
    expect(parsed.message).toContain('express.raw');
    const { 'webhook-signature': _, ...missing } = headers;
    expect((await rejection(webhooks.verify(BODY, missing, SECRET, { now: NOW }))).message).toContain(
      'webhook-signature header is missing',
    );
    expect((await rejection(webhooks.verify(BODY, headers, 'whsec_***', { now: NOW }))).message).toContain(
      'whsec_ followed by base64',
    );
    expect((await rejection(webhooks.verify(BODY, headers, '', { now: NOW }))).message).toContain(
      'No webhook secret',
    );
  });
});

describe('webhooks.unwrap', () => {
  it('returns the typed event with the message id', async () => {
    const event = await webhooks.unwrap<{ device_id: string }>(
      BODY,
      signedByNode(BODY, { id: 'msg_42' }),
      SECRET,
      { now: NOW },
    );
    expect(event).toEqual({
      id: 'msg_42',
      type: 'device.offline',
      timestamp: '2026-11-02T09:59:58.000Z',
      data: { device_id: 'dev_1', site_id: 'site_1' },
    });
    const typed: WebhookEvent<{ device_id: string }> = event;
    expect(typed.data.device_id).toBe('dev_1');
  });

  it('does not parse what does not verify, and refuses a signed body that is not an event', async () => {
    await rejection(webhooks.unwrap(BODY, signedByNode('{}'), SECRET, { now: NOW }));
    await rejection(webhooks.unwrap('not json', signedByNode('not json'), SECRET, { now: NOW }));
    const notEvent = JSON.stringify({ hello: 'world' });
    expect(
      (await rejection(webhooks.unwrap(notEvent, signedByNode(notEvent), SECRET, { now: NOW }))).message,
    ).toContain('"type"');
  });

  it('falls back to webhook-timestamp when the body has no timestamp', async () => {
    const body = JSON.stringify({ type: 'ping', data: null });
    const event = await webhooks.unwrap(body, signedByNode(body), SECRET, { now: NOW });
    expect(event.timestamp).toBe(NOW.toISOString());
  });
});
