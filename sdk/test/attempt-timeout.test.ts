/**
 * What a timed-out attempt leaves behind, against a real HTTP server (node:http) and Node.js's
 * own fetch: with a caller's signal the request is aborted at the deadline; without one it is
 * sent without a signal (cheaper in undici) and abandoned, its late answer closed on arrival.
 * Either way the call fails with TimeoutError at the deadline.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Meridian, TimeoutError } from '../src/index';

const SITE = { id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M', name: 'Lisbon' };

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Starts a server answering every request with `handle`; gives a client for it. */
async function serve(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  options: { timeout: number },
): Promise<Meridian> {
  server = createServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return new Meridian({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0, ...options });
}

/** Resolves when the response's connection closes: whether the server had finished it, and after how long. */
function closed(res: ServerResponse): Promise<{ finished: boolean; afterMs: number }> {
  const from = Date.now();
  return new Promise((resolve) =>
    res.once('close', () => resolve({ finished: res.writableFinished, afterMs: Date.now() - from })),
  );
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );

describe('a timed-out attempt', () => {
  it('fails at the deadline and, without a signal of the caller, closes an answer that comes later unread', async () => {
    let late: ReturnType<typeof closed> | undefined;
    const meridian = await serve(
      (_req, res) => {
        // The headers come after the deadline, then a body that would never end.
        setTimeout(() => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"id":"site_01JC0A1B2C3D4E5F6G7H8J9K0M",');
          late = closed(res);
        }, 400);
      },
      { timeout: 100 },
    );
    const started = Date.now();
    const error = await failure(meridian.sites.get(SITE.id));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(100);
    expect(Date.now() - started).toBeLessThan(350);

    await expect.poll(() => late, { timeout: 5_000 }).toBeDefined();
    // The client cancels the body it no longer wants as soon as it comes: the connection closes,
    // the answer unfinished (left alone, it would close only when garbage-collected, seconds later).
    const { finished, afterMs } = (await late)!;
    expect(finished).toBe(false);
    expect(afterMs).toBeLessThan(1_000);
  });

  it('fails at the deadline when the body stalls after the headers', async () => {
    const meridian = await serve(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"id":');
      },
      { timeout: 150 },
    );
    const started = Date.now();
    expect(await failure(meridian.sites.get(SITE.id))).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('with a signal of the caller, is aborted at the deadline: the server sees the connection close unanswered', async () => {
    let gone: ReturnType<typeof closed> | undefined;
    const meridian = await serve(
      (_req, res) => {
        gone = closed(res);
      },
      { timeout: 100 },
    );
    const error = await failure(meridian.sites.get(SITE.id, { signal: new AbortController().signal }));
    expect(error).toBeInstanceOf(TimeoutError);
    await expect.poll(() => gone, { timeout: 5_000 }).toBeDefined();
    expect(await gone).toMatchObject({ finished: false });
  });

  it('leaves no timer behind once an attempt is answered in time, with or without a signal', async () => {
    const meridian = await serve(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(SITE));
      },
      { timeout: 60_000 },
    );
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    expect(await meridian.sites.get(SITE.id)).toEqual(SITE);
    expect(await meridian.sites.get(SITE.id, { signal: new AbortController().signal })).toEqual(SITE);
    // Each attempt's 60-s deadline is cleared with its answer: nothing is left to fire later.
    expect(timers()).toBe(before);
  });
});
