/**
 * The webhook fan-out bench's baseline, in a process of its own as the server is: plain node:http
 * POSTs of the requests listed in a JSON file (`[{ url, headers, body }]`), keep-alive, at most
 * `concurrency` at a time. Prints READY once loaded, starts on the first line read from stdin, and
 * when every request has been answered prints the CPU time it used for them (`CPU <ms>`) and exits.
 *
 *   tsx server-stub/bench/plain-sender.ts <requests.json> <concurrency>
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { once } from 'node:events';

interface PlainRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const [file, width] = process.argv.slice(2) as [string, string];
const requests = JSON.parse(readFileSync(file, 'utf8')) as PlainRequest[];
const concurrency = Number(width);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

const post = ({ url, headers, body }: PlainRequest) =>
  new Promise<void>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    req.end(body);
  });

console.log('READY');
await once(process.stdin, 'data');
const cpuBefore = process.cpuUsage();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests.length) await post(requests[next++]!);
  }),
);
const cpu = process.cpuUsage(cpuBefore);
console.log(`CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)}`);
agent.destroy();
process.exit(0);
