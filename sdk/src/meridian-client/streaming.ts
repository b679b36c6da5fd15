/**
 * Server-Sent Events as an async iterator. `for await (const event of meridian.events.stream())`
 * yields each event as the server sends it; when the connection ends or drops, the stream
 * reconnects after the server's `retry:` delay with `Last-Event-ID`, so nothing is missed and
 * nothing repeats. It stops when the loop breaks or the caller's signal aborts. A refusal
 * (401, 403, …) is thrown as the usual typed error; it is not retried.
 */
import { sleep } from '../internal/utils/sleep';
import { APIError } from './errors';

export interface ServerSentEvent<T> {
  /** The event's ID (`id:`), which a reconnect resumes after. */
  id: string | undefined;
  /** The event's name (`event:`), `message` when the server sent none. */
  event: string;
  /** The event's data, parsed from JSON. */
  data: T;
}

interface RawEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
}

/** Opens the stream; `lastEventId` is set when resuming. */
export type OpenStream = (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>;

const DEFAULT_RETRY_MS = 3000;

/**
 * Splits a byte stream into SSE events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Aborting `signal` cancels the read in progress, so a quiet stream stops at once; so does
 * leaving the loop early (the connection is closed, not left open).
 */
async function* parse(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<RawEvent> {
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  const decoder = new TextDecoder();
  let buffer = '';
  let event: RawEvent = {};
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (event.data !== undefined || event.retry !== undefined) yield event;
          event = {};
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') event.data = event.data === undefined ? text : `${event.data}\n${text}`;
          else if (field === 'id') event.id = text;
          else if (field === 'event') event.event = text;
          else if (field === 'retry' && /^\d+$/.test(text)) event.retry = Number(text);
        }
      }
    }
  } finally {
    signal.removeEventListener('abort', cancel);
    await reader.cancel().catch(() => undefined);
  }
}

export class EventStream<T> implements AsyncIterable<ServerSentEvent<T>> {
  readonly #open: OpenStream;
  readonly #signal: AbortSignal | undefined;
  #lastEventId: string | undefined;

  constructor(open: OpenStream, options: { signal?: AbortSignal; lastEventId?: string } = {}) {
    this.#open = open;
    this.#signal = options.signal;
    this.#lastEventId = options.lastEventId;
  }

  /** The ID of the last event received: pass it as `Last-Event-ID` to resume in a later run. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ServerSentEvent<T>> {
    const controller = new AbortController();
    const stop = (): void => controller.abort(this.#signal?.reason);
    if (this.#signal?.aborted) return;
    this.#signal?.addEventListener('abort', stop, { once: true });
    let retryMs = DEFAULT_RETRY_MS;
    try {
      while (!controller.signal.aborted) {
        let response: Response;
        try {
          response = await this.#open(this.#lastEventId, controller.signal);
        } catch (error) {
          // Refusals are final; anything else (the server restarting, a network blip) is retried.
          if (controller.signal.aborted || error instanceof APIError) throw error;
          await sleep(retryMs, controller.signal).catch(() => undefined);
          continue;
        }
        const body = response.body;
        if (!body)
          throw new APIError(response.status, { detail: 'The event stream has no body.' }, response.headers);
        try {
          for await (const raw of parse(body, controller.signal)) {
            if (raw.retry !== undefined) retryMs = raw.retry;
            if (raw.data === undefined) continue;
            if (raw.id !== undefined) this.#lastEventId = raw.id;
            yield { id: raw.id, event: raw.event ?? 'message', data: JSON.parse(raw.data) as T };
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          if (error instanceof SyntaxError)
            throw new APIError(
              response.status,
              { detail: `An event's data is not JSON: ${error.message}` },
              response.headers,
            );
        }
        await sleep(retryMs, controller.signal).catch(() => undefined);
      }
    } finally {
      this.#signal?.removeEventListener('abort', stop);
      controller.abort();
    }
  }
}
