/**
 * A webhook receiver on plain node:http: verifies each delivery's Standard Webhooks signature on
 * the raw body, unwraps it into an event typed by its `type`, answers 204 at once, and handles
 * each `webhook-id` once (Meridian delivers at least once, with the same ID on every retry).
 * Stops after --count events, or on Ctrl-C.
 *
 *   MERIDIAN_WEBHOOK_SECRET=whsec_… PORT=3000 npx tsx examples/webhook-receiver.ts
 *
 * Then point an endpoint at it (`POST /v1/webhooks` with url http://<this host>:3000/; a
 * loopback or private address needs MERIDIAN_WEBHOOKS_ALLOW_PRIVATE=true on the server).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Meridian, type MeridianWebhookEvent, WebhookVerificationError } from '@meridian/sdk';

const secret = process.env.MERIDIAN_WEBHOOK_SECRET;
if (!secret) {
  console.error('Set MERIDIAN_WEBHOOK_SECRET to the whsec_… secret shown when the endpoint was created.');
  process.exit(2);
}
const [, count] = /^--count=(\d+)$/.exec(process.argv[2] ?? '') ?? [];
const limit = count === undefined ? Infinity : Number(count);

/** What this receiver does with each event: narrowing on `type` types `data`. */
function handle(event: MeridianWebhookEvent): string {
  switch (event.type) {
    case 'device.offline':
      return `${event.data.device_id} went offline (last seen ${event.data.data.last_seen_at})`;
    case 'device.enrolled':
      return `${event.data.device_id} enrolled (request ${event.data.data.enrollment_request_id})`;
    case 'incident.opened':
      return `incident ${event.data.data.incident_id} opened: ${event.data.message}`;
    case 'command.failed':
      return `command ${event.data.data.command_id} failed with exit code ${event.data.data.exit_code}`;
    case 'webhook.test':
      return `test from endpoint ${event.data.webhook_id}`;
    default:
      return event.data.message;
  }
}

/** The body exactly as sent: the signature covers these bytes, not a parsed-and-serialised copy. */
async function rawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// The webhook-ids already handled. A real receiver keeps them in its database (with the work the
// event caused, in one transaction) for longer than Meridian retries: about a day and a half.
const handled = new Set<string>();

const server = createServer(async (req, res) => {
  if (req.method !== 'POST') return void res.writeHead(405, { Allow: 'POST' }).end();
  let event: MeridianWebhookEvent;
  try {
    event = await Meridian.webhooks.unwrap(await rawBody(req), req.headers, secret);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    console.log(`refused: ${error.message}`);
    return void res.writeHead(400).end();
  }
  // Answer first (Meridian waits 10 s at most), then do the work.
  res.writeHead(204).end();
  if (handled.has(event.id)) {
    console.log(`${event.id} again: already handled`);
    return;
  }
  handled.add(event.id);
  console.log(`${event.id} ${event.type}: ${handle(event)}`);
  if (handled.size >= limit) server.close();
});

server.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close());
