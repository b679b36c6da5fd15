/**
 * Signals across instances on one PostgreSQL database, through LISTEN/NOTIFY: each instance keeps
 * one dedicated connection LISTENing on `meridian_signals`, and publishes every topic it notifies
 * there (after the change it announces was committed, as notifications always are). Topics
 * notified in the same turn of the event loop go out together, in as few NOTIFYs as their size
 * allows. A notification names the instance that sent it, which ignores its own (its local
 * subscribers were woken at once); the others wake their subscribers of the topics it names.
 *
 * If the listening connection drops, it is opened again after a delay (doubling up to 30 s, on
 * the context's timers); once it listens again every local subscriber is woken once, since
 * notifications sent meanwhile were missed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import type { AppContext } from '../context';

const SIGNALS_CHANNEL = 'meridian_signals';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const PAYLOAD_BYTES = 7900;
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;

export interface SharedSignals {
  /** Stops listening, after the notifications under way were sent. */
  close(): Promise<void>;
}

/** `topics` as NOTIFY payloads: the sender's ID, then one topic a line, each under the size limit. */
function payloads(instance: string, topics: readonly string[]): string[] {
  const out: string[] = [];
  let current = instance;
  for (const topic of topics) {
    if (Buffer.byteLength(current) + Buffer.byteLength(topic) + 1 > PAYLOAD_BYTES) {
      out.push(current);
      current = instance;
    }
    current += `\n${topic}`;
  }
  out.push(current);
  return out;
}

/** Shares `context.signals` with the other instances on the database at `connectionString`. */
export async function shareSignals(context: AppContext, connectionString: string): Promise<SharedSignals> {
  const instance = randomUUID();
  const pending = new Set<string>();
  let sending = Promise.resolve();
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let cancelRetry = (): void => undefined;

  const send = async (topics: readonly string[]): Promise<void> => {
    try {
      await sql`select pg_notify(${SIGNALS_CHANNEL}, payload) from unnest(${payloads(instance, topics)}::text[]) as payload`.execute(
        context.db,
      );
    } catch (error) {
      context.log.error({ err: error }, 'could not send signals to the other instances');
    }
  };
  context.signals.share((topic) => {
    if (pending.size === 0)
      queueMicrotask(() => {
        const topics = [...pending];
        pending.clear();
        if (closed) return;
        sending = sending.then(() => send(topics));
      });
    pending.add(topic);
  });

  const receive = (payload: string): void => {
    const [sender, ...topics] = payload.split('\n');
    if (sender === instance) return;
    for (const topic of topics) context.signals.deliver(topic);
  };

  let listener: pg.Client | undefined;
  const listen = async (): Promise<void> => {
    // TCP keep-alives notice a connection that died without a word (a dropped NAT entry).
    const client = new pg.Client({ connectionString, keepAlive: true });
    client.on('notification', (message) => receive(message.payload ?? ''));
    // A lost connection emits 'error' and then 'end'; 'end' reconnects.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNALS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    client.once('end', () => {
      listener = undefined;
      if (closed) return;
      context.log.warn('lost the connection that listens for other instances; reconnecting');
      retryLater();
    });
    listener = client;
  };
  const retryLater = (): void => {
    cancelRetry = context.timers.set(
      retryMs,
      async () => {
        try {
          await listen();
          if (closed) return void (await listener?.end());
          retryMs = FIRST_RETRY_MS;
          context.signals.deliverAll();
        } catch (error) {
          retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
          context.log.error({ err: error }, 'could not listen for other instances; trying again');
          retryLater();
        }
      },
      'signals-reconnect',
    );
  };
  await listen();

  return {
    close: async () => {
      closed = true;
      cancelRetry();
      await sending;
      await listener?.end();
    },
  };
}
