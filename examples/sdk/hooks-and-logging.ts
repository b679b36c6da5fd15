/**
 * Everything around the request: a replaced fetch, hooks before and after each attempt, and
 * debug logging (with the credentials redacted). Reads only.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/hooks-and-logging.ts
 */
// readme:start
import Meridian from '@meridian/sdk';

let sent = 0;
const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
  // Default: the global fetch, looked up at each call (so MSW and the like can patch it).
  fetch: (request, init) => {
    sent++;
    return fetch(request, init);
  },
  // Before each attempt; may also return a replacement Request.
  onRequest: (request) => {
    request.headers.set('X-Trace-Id', crypto.randomUUID());
  },
  // After each response, those that will be retried too.
  onResponse: (response, request) => {
    console.log(
      `${request.method} ${new URL(request.url).pathname} → ${response.status} (trace ${request.headers.get('x-trace-id')})`,
    );
  },
  logger: console, // the default; pino, winston and the like fit too
  logLevel: 'debug', // 'debug' | 'info' | 'warn' (default) | 'error' | 'off'
});

await meridian.sites.list({ limit: 1 });
console.log(`${sent} request(s) sent`);
// readme:end
