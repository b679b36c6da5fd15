/** What `.withResponse()` gives: the parsed body with the raw `Response` and its `Request-Id`. */
export interface APIResponse<T> {
  data: T;
  response: Response;
  requestId: string | undefined;
}

/**
 * The promise every call returns. Awaited it gives the parsed body; `.withResponse()` also gives
 * the `Response` (status, headers such as `ETag`) and the `Request-Id`. The request starts when
 * the method is called, not when the promise is awaited.
 */
export class APIPromise<T> extends Promise<T> {
  // Derived promises (`then`, `catch`, …) are plain promises, not APIPromises.
  static override readonly [Symbol.species] = Promise;

  readonly #result: Promise<APIResponse<T>>;

  constructor(result: Promise<APIResponse<T>>) {
    super((resolve) => resolve(undefined as T));
    this.#result = result;
  }

  /** The parsed body together with the raw `Response` and its `Request-Id`. */
  withResponse(): Promise<APIResponse<T>> {
    return this.#result;
  }

  /** The raw `Response` (its body already read, except a file download's: that one is the data). */
  asResponse(): Promise<Response> {
    return this.#result.then((result) => result.response);
  }

  // biome-ignore lint/suspicious/noThenProperty: an APIPromise is a Promise; it overrides then to unwrap the data
  override then<TResult1 = T, TResult2 = never>(
    onfulfilled?: ((value: T) => TResult1 | PromiseLike<TResult1>) | null,
    onrejected?: ((reason: unknown) => TResult2 | PromiseLike<TResult2>) | null,
  ): Promise<TResult1 | TResult2> {
    return this.#result.then((result) => result.data).then(onfulfilled, onrejected);
  }

  override catch<TResult = never>(
    onrejected?: ((reason: unknown) => TResult | PromiseLike<TResult>) | null,
  ): Promise<T | TResult> {
    return this.then(undefined, onrejected);
  }

  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }
}
