/**
 * Files sent as request bodies (agent builds, installers, screenshots) without holding them in
 * memory: a `Blob` (in Node.js, `await fs.openAsBlob(path)` reads the file as it is sent), a web
 * `ReadableStream`, or any async iterable of bytes (a Node.js `fs.createReadStream(path)`, an
 * async generator). Streams are sent once as they are read, so they are never retried.
 */

/** What a file upload accepts as its body. */
export type Uploadable = Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/**
 * A web stream reading an async iterable one chunk at a time, only as fast as fetch sends it
 * (`ReadableStream.from` does the same, but not in every browser yet). Strings are sent as UTF-8.
 */
export function iterableStream(iterable: AsyncIterable<unknown>): ReadableStream<Uint8Array> {
  const iterator = iterable[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) return controller.close();
        if (typeof value === 'string') return controller.enqueue(encoder.encode(value));
        if (value instanceof Uint8Array) return controller.enqueue(value);
        const error = new TypeError(
          `An upload's chunks must be bytes (Uint8Array, Buffer) or strings; one was ${Object.prototype.toString.call(value)}.`,
        );
        await iterator.return?.();
        controller.error(error);
      },
      async cancel(reason) {
        await iterator.return?.(reason);
      },
    },
    // One chunk at a time: the stream asks for the next only when fetch took the last.
    { highWaterMark: 0 },
  );
}
