/**
 * A webhook receiver in Express that verifies and parses Meridian's (Standard Webhooks) events.
 * Meridian does not send webhooks yet, so after the receiver this script starts it on a free
 * port and sends it an event signed as Meridian will, then the same event altered.
 *
 *   MERIDIAN_WEBHOOK_SECRET=whsec_… npx tsx examples/sdk/webhooks.ts
 */
import type { AddressInfo } from 'node:net';

// The endpoint's secret; made up here when none is given.
process.env.MERIDIAN_WEBHOOK_SECRET ??= `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`;
// readme:start
import express from 'express';
import { Meridian, WebhookVerificationError } from '@meridian/sdk';

const app = express();

// express.raw: the body exactly as received. Parsed and serialised again, it would not match its signature.
app.post('/hooks/meridian', express.raw({ type: 'application/json' }), async (req, res) => {
  try {
    const event = await Meridian.webhooks.unwrap(req.body, req.headers, process.env.MERIDIAN_WEBHOOK_SECRET!);
    console.log(`received ${event.type} (${event.id}): ${JSON.stringify(event.data)}`);
    res.sendStatus(204);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    console.log(`refused: ${error.message}`);
    res.sendStatus(400);
  }
});
// readme:end

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/meridian`;

const body = JSON.stringify({
  type: 'device.offline',
  timestamp: new Date().toISOString(),
  data: { device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ' },
});
const headers = {
  ...(await Meridian.webhooks.sign(body, process.env.MERIDIAN_WEBHOOK_SECRET)),
  'Content-Type': 'application/json',
};
console.log(`signed event: HTTP ${(await fetch(url, { method: 'POST', headers, body })).status}`);
const altered = body.replace('device.offline', 'device.online');
console.log(`altered event: HTTP ${(await fetch(url, { method: 'POST', headers, body: altered })).status}`);

server.closeAllConnections();
server.close();
