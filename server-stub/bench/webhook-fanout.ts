/**
 * `npm run bench:webhooks`: webhook fan-out. Meridian started as it is deployed (no response
 * validation) with 5 endpoints on one real node:http receiver; N events raised through
 * `POST /v1/events/simulate` become N × 5 signed deliveries (the outbox and the worker, claims of
 * 20 at a time). Then the baseline: the same bodies POSTed by plain node:http (keep-alive, 20 at a
 * time) to the same receiver, in this run, on this machine. Deliveries per second of each and their
 * ratio (goal ≥ 0.5×); fails if a delivery is missing (each endpoint must see every webhook-id).
 *
 *   npm run bench:webhooks -- --events 1000 --endpoints 5
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { startBenchServer } from './bench-server';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '5' },
  },
});
const eventCount = Number(values.events);
const endpointCount = Number(values.endpoints);
const total = eventCount * endpointCount;
/** As many requests in flight as the worker sends at once (its claim batch). */
const CONCURRENCY = 20;
/** Events raised at once through the API. */
const RAISERS = 10;

interface Received {
  path: string;
  webhookId: string;
  body: string;
}

// The receiver: answers 200 to every POST and keeps what arrived; `waitFor` resolves at n requests.
let received: Received[] = [];
let waiting: { count: number; resolve: () => void } | undefined;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    received.push({
      path: req.url ?? '',
      webhookId: String(req.headers['webhook-id'] ?? ''),
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (waiting && received.length >= waiting.count) waiting.resolve();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
const waitFor = (count: number) =>
  received.length >= count
    ? Promise.resolve()
    : new Promise<void>((resolve) => (waiting = { count, resolve }));

/** Runs `work` for 0..n-1 with `width` at a time. */
async function pool(n: number, width: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const { meridian, operator, siteId } = await startBenchServer({ webhooks: { allowPrivateTargets: true } });
for (let n = 0; n < endpointCount; n++)
  await operator.webhookEndpoints.create({ url: `${receiverUrl}/endpoint-${n}`, description: `bench ${n}` });

console.log(
  `webhook fan-out: ${eventCount} events to ${endpointCount} endpoints = ${total} deliveries (node ${process.version})`,
);
// Meridian: from the first event raised to the last delivery received.
let started = performance.now();
await pool(eventCount, RAISERS, async (n) => {
  await operator.events.simulate({
    type: 'device.offline',
    severity: 'warning',
    site_id: siteId,
    message: `Bench event ${n}`,
    data: { n },
  });
});
const raisedMs = performance.now() - started;
const deliveredWhileRaising = received.length;
// Everything should arrive at once; a minute without is counted as lost below.
await Promise.race([waitFor(total), new Promise((resolve) => setTimeout(resolve, 60_000).unref())]);
const meridianMs = performance.now() - started;
const delivered = received;
const perEndpoint = new Map<string, Set<string>>();
for (const { path, webhookId } of delivered) {
  const ids = perEndpoint.get(path) ?? new Set<string>();
  ids.add(webhookId);
  perEndpoint.set(path, ids);
}
const lost = [...Array(endpointCount).keys()].map(
  (n) => eventCount - (perEndpoint.get(`/endpoint-${n}`)?.size ?? 0),
);
const duplicates = delivered.length - [...perEndpoint.values()].reduce((sum, ids) => sum + ids.size, 0);
await meridian.close();

// The baseline: the same bodies, plain node:http POSTs to the same receiver, as many at a time.
received = [];
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const post = ({ path, body }: Received) =>
  new Promise<void>((resolve, reject) => {
    const req = request(`${receiverUrl}${path}`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    req.end(body);
  });
started = performance.now();
await pool(delivered.length, CONCURRENCY, (n) => post(delivered[n]!));
const baselineMs = performance.now() - started;
agent.destroy();
receiver.close();

const rate = (count: number, ms: number) => (count / (ms / 1000)).toFixed(0).padStart(7);
console.log(
  `  plain node:http ${rate(delivered.length, baselineMs)} deliveries/s  (${baselineMs.toFixed(0)} ms)`,
);
console.log(
  `  meridian        ${rate(total, meridianMs)} deliveries/s  (${meridianMs.toFixed(0)} ms, events raised in ${raisedMs.toFixed(0)} ms)`,
);
const drainMs = meridianMs - raisedMs;
const drained = total - deliveredWhileRaising;
console.log(
  `    after the last event was raised: ${rate(drained, drainMs)} deliveries/s (${drained} deliveries, ratio ${((drained / drainMs) * (baselineMs / delivered.length)).toFixed(3)})`,
);
console.log(
  `  ratio           ${(baselineMs / meridianMs).toFixed(3)} (meridian / plain node:http; goal ≥ 0.5)`,
);
console.log(
  `  lost            ${lost.reduce((a, b) => a + b, 0)} (per endpoint: ${lost.join(', ')}), duplicates ${duplicates}`,
);
if (lost.some((count) => count !== 0)) {
  console.error('some deliveries never arrived');
  process.exit(1);
}
