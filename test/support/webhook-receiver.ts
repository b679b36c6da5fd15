/**
 * A real webhook receiver for tests: a node:http server on a free port of 127.0.0.1 that keeps
 * every request it gets (headers and raw body) and answers as told: a status and body, or never.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
}

/** How to answer a request: a status (and body, and headers), or `'hang'` to never answer. */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** Answers the next requests with these, in order, then with `fallback`. */
  answers: Answer[];
  fallback: Answer;
  /** Resolves with the `count`-th request (1-based) once it has arrived. */
  waitFor(count: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

/** Listens on `host` (127.0.0.1 by default) and `port` (a free one by default). */
export async function startReceiver(
  fallback: Answer = { status: 200, body: 'ok' },
  listen: { host?: string; port?: number } = {},
): Promise<Receiver> {
  const { host = '127.0.0.1', port = 0 } = listen;
  const waiters = new Set<{ count: number; resolve: () => void }>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const waiter of [...waiters]) if (receiver.received.length >= waiter.count) waiter.resolve();
      const answer = receiver.answers.shift() ?? receiver.fallback;
      if (answer !== 'hang') res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const receiver: Receiver = {
    url: `http://${host}:${(server.address() as AddressInfo).port}/hooks`,
    received: [],
    answers: [],
    fallback,
    waitFor: async (count) => {
      if (receiver.received.length < count)
        await new Promise<void>((resolve) => {
          const waiter = {
            count,
            resolve: () => {
              waiters.delete(waiter);
              resolve();
            },
          };
          waiters.add(waiter);
        });
      return receiver.received[count - 1]!;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
