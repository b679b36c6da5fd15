/**
 * A timeout per attempt (TimeoutError), cancelling with an AbortSignal (UserAbortError), and a
 * deadline for a whole call. The network is made slow below so that both happen for real.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/timeouts.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';

// The simulation: every request takes one second longer. (The client uses the global fetch
// unless given one.)
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  await sleep(1_000, undefined, init?.signal ? { signal: init.signal } : {});
  return realFetch(input, init);
};
// readme:start
import Meridian, { TimeoutError, UserAbortError } from '@meridian/sdk';

// Each attempt may take 5 s (the default is 60 s), and this call 500 ms, without retrying.
const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
  timeout: 5_000,
});
try {
  await meridian.devices.list({ limit: 100 }, { timeout: 500, maxRetries: 0 });
} catch (error) {
  if (!(error instanceof TimeoutError)) throw error;
  console.log(`timed out: ${error.message}`);
}

// An AbortSignal cancels the whole call, retries and the waits between them included.
const controller = new AbortController();
setTimeout(() => controller.abort(new Error('the user closed the dialog')), 200);
try {
  await meridian.devices.list({ limit: 100 }, { signal: controller.signal });
} catch (error) {
  if (!(error instanceof UserAbortError)) throw error;
  console.log(`cancelled: ${(error.cause as Error).message}`);
}

// A deadline for the whole call, however many attempts it takes:
const page = await meridian.devices.list({ limit: 100 }, { signal: AbortSignal.timeout(10_000) });
console.log(`${page.data.length} device(s) on the first page, in time`);
// readme:end
