/**
 * The heartbeat bench's load generator, in a process of its own: autocannon POSTs the heartbeat
 * body to `<url>/v1/agent/heartbeat`, each request with the next of the access tokens listed in a
 * JSON file, and prints the result as one line of JSON (requests per second, p50, p99, failures).
 *
 *   tsx server-stub/bench/heartbeat-load.ts <url> <tokens.json> <connections> <seconds>
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, tokensFile, connections, seconds] = process.argv.slice(2) as [string, string, string, string];
const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as string[];

const HEARTBEAT = JSON.stringify({
  status: 'ok',
  agent_version: '2.4.1',
  uptime_seconds: 86_400,
  hostname: 'LIS-KIOSK-02',
  addresses: ['192.168.10.24'],
  metrics: { cpu_percent: 12.5, memory_percent: 48.1, disk_percent: 71.0 },
});

let next = 0;
const result = await autocannon({
  url: `${url}/v1/agent/heartbeat`,
  method: 'POST',
  connections: Number(connections),
  duration: Number(seconds),
  headers: { 'content-type': 'application/json' },
  body: HEARTBEAT,
  requests: [
    {
      setupRequest: (request) => ({
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` },
      }),
    },
  ],
});
console.log(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  }),
);
