/**
 * The timeout of one attempt.
 *
 * Where the request is given an `AbortSignal` (the caller passed one, or the client runs in a
 * browser, where a hung request would hold one of the few connections per origin), the timeout
 * aborts the request, and the request's own rejection carries the `TimeoutError`.
 *
 * Otherwise (Node.js, Bun, Deno without a caller's signal) the request is sent without one: in
 * Node.js's fetch (undici) a signal costs every request about as much as the rest of the client
 * together (it is registered, weakly referenced and finalised per request). At the deadline the
 * attempt fails with `TimeoutError` all the same and the request is abandoned: an answer that
 * still comes has its body cancelled on arrival, which closes the connection; one that never
 * comes is closed by undici's own limits (300 s without headers or body data).
 */
import { TimeoutError } from './errors';

export class AttemptTimeout {
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #controller: AbortController | undefined;
  #expired: TimeoutError | undefined;
  #rejectRace: ((error: TimeoutError) => void) | undefined;

  /** `controller`: the request's, aborted at the deadline; none when the request has no signal. */
  constructor(ms: number, what: string, controller: AbortController | undefined) {
    this.#controller = controller;
    this.#timer = setTimeout(() => {
      this.#expired = new TimeoutError(ms, what);
      controller?.abort(this.#expired);
      this.#rejectRace?.(this.#expired);
    }, ms);
  }

  /** The `TimeoutError`, once the deadline has passed. */
  get expired(): TimeoutError | undefined {
    return this.#expired;
  }

  /**
   * `step` (sending, reading the body), or a rejection with `TimeoutError` at the deadline when
   * the request has no signal to abort; `abandon` gets what `step` gives after the deadline.
   */
  race<T>(step: Promise<T>, abandon?: (value: T) => void): Promise<T> {
    if (this.#controller !== undefined) return step;
    if (this.#expired !== undefined) {
      step.then(abandon, () => {});
      return Promise.reject(this.#expired);
    }
    return new Promise<T>((resolve, reject) => {
      this.#rejectRace = reject;
      step.then((value) => {
        if (this.#expired === undefined) resolve(value);
        else abandon?.(value);
      }, reject);
    });
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}
