/**
 * Request bodies that are not JSON values: a web `ReadableStream`, a Node.js stream or another
 * async iterable of bytes is streamed as it is read and sent once (never retried, since it is
 * gone after the first attempt); chunks that are not bytes fail the call instead of being sent.
 */
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { http } from 'msw';
import { InternalServerError, MeridianError } from '../src/index';
import { client, json, problem, server, url, useMsw } from './support/msw';

useMsw();

const JPEG_CHUNKS = [
  [0xff, 0xd8, 0xff, 0xe0],
  [0x00, 0x10, 0x4a, 0x46],
  [0xff, 0xd9],
];

function byteStream(chunks: number[][]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
      controller.close();
    },
  });
}

/** Answers `respond()` to POSTs to `path`, recording each request's type and bytes. */
function recordPosts(path: string, respond: () => Response) {
  const received: { contentType: string | null; bytes: number[] }[] = [];
  server.use(
    http.post(url(path), async ({ request }) => {
      received.push({
        contentType: request.headers.get('content-type'),
        bytes: [...new Uint8Array(await request.arrayBuffer())],
      });
      return respond();
    }),
  );
  return received;
}

describe('a ReadableStream body', () => {
  it('is streamed as its bytes, with the Content-Type the caller gives', async () => {
    const received = recordPosts('/v1/agent/screenshots', () => json({}, 201));
    await client().request('POST', '/v1/agent/screenshots', {
      body: byteStream(JPEG_CHUNKS),
      headers: { 'Content-Type': 'image/jpeg' },
    });
    expect(received).toEqual([{ contentType: 'image/jpeg', bytes: JPEG_CHUNKS.flat() }]);
  });

  it("is sent with the operation's media type by the resource method", async () => {
    const received = recordPosts('/v1/agent/screenshots', () => json({}, 201));
    const device = client();
    // The generated type says Blob; a stream is accepted at run time as well.
    await device.agent.uploadScreenshot(byteStream(JPEG_CHUNKS) as unknown as Blob);
    expect(received).toEqual([{ contentType: 'image/jpeg', bytes: JPEG_CHUNKS.flat() }]);
  });

  it('is never retried, even where a retry would be safe (an Idempotency-Key, a 503)', async () => {
    const received = recordPosts('/v1/sites', () => problem(503, 'unavailable'));
    const debug = vi.fn();
    const meridian = client({
      logLevel: 'debug',
      logger: { debug, info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    });
    const error = await meridian
      .request('POST', '/v1/sites', {
        body: byteStream([[...new TextEncoder().encode('{"name":"Lisbon"}')]]),
        headers: { 'Content-Type': 'application/json' },
        maxRetries: 2,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(received).toHaveLength(1);
    expect(new TextDecoder().decode(new Uint8Array(received[0]!.bytes))).toBe('{"name":"Lisbon"}');
    expect(debug).toHaveBeenCalledWith(
      '[meridian] not retrying POST /v1/sites: its streamed body was sent once and is gone',
    );
  });
});

describe('an async iterable body', () => {
  it.each([
    ['a Node.js stream', () => Readable.from(JPEG_CHUNKS.map((chunk) => Buffer.from(chunk)))],
    [
      'an async generator',
      () =>
        (async function* () {
          for (const chunk of JPEG_CHUNKS) yield new Uint8Array(chunk);
        })(),
    ],
  ])('%s is streamed as its bytes by the resource method', async (_, body) => {
    const received = recordPosts('/v1/agent/screenshots', () => json({}, 201));
    await client().agent.uploadScreenshot(body());
    expect(received).toEqual([{ contentType: 'image/jpeg', bytes: JPEG_CHUNKS.flat() }]);
  });

  it('sends strings as UTF-8', async () => {
    const received = recordPosts('/v1/sites', () => json({}, 201));
    await client().request('POST', '/v1/sites', {
      body: Readable.from(['{"name":', '"Lisboa ✓"}']),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(new TextDecoder().decode(new Uint8Array(received[0]!.bytes))).toBe('{"name":"Lisboa ✓"}');
  });

  it('fails the call, and is not sent as `{}`, when a chunk is not bytes', async () => {
    const received = recordPosts('/v1/sites', () => json({}, 201));
    const error = await client()
      .request('POST', '/v1/sites', { body: Readable.from([{ name: 'Lisbon' }]) })
      .catch((e: unknown) => e);
    // The stream errors as it is read: fetch fails (MSW, reading it, answers 500 instead).
    expect(error).toBeInstanceOf(MeridianError);
    expect(received).toEqual([]);
  });
});
