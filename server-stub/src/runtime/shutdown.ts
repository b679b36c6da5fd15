/**
 * Graceful shutdown (README: MERIDIAN_SHUTDOWN_GRACE_SECONDS). A drain stops the listener, so no
 * new connection is accepted, and aborts `signal`: `GET /ready` answers 503, command waits and
 * agent long-polls answer at once with what they have, event streams end. Responses sent from
 * then on close their connection, and connections that go idle are closed; the drain is over
 * when no connection is left, or when the grace runs out and the remaining ones are cut.
 */
import type { Server } from 'node:http';
import type { RunningServer } from '../index';
import type { Timers } from './timers';

export class Drain {
  readonly #controller = new AbortController();
  /** Aborted when the drain starts. */
  readonly signal: AbortSignal = this.#controller.signal;

  /** Lets the drain close the connections of `server` as their responses end. */
  watch(server: Server): void {
    server.prependListener('request', (_req, res) => {
      if (this.signal.aborted) res.setHeader('Connection', 'close');
      // A response that began before the drain (an event stream) leaves a keep-alive connection.
      res.once('finish', () => {
        if (this.signal.aborted) setImmediate(() => server.closeIdleConnections());
      });
    });
  }

  /** Drains `server`: resolves once its last connection is closed, at most `graceMs` from now. */
  async start(server: Server, graceMs: number, timers: Timers): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.#controller.abort();
    const cut = timers.set(graceMs, () => server.closeAllConnections(), 'shutdown-grace');
    await closed;
    cut();
  }
}

/** On SIGTERM or SIGINT, shuts `server` down gracefully, then exits (0, or 1 if that failed). */
export function shutDownOnSignals(server: RunningServer): void {
  const shutDown = (): void => {
    server.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('[meridian] shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutDown);
  process.once('SIGINT', shutDown);
}
