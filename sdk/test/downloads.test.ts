/**
 * File downloads (operations answering `application/octet-stream`) resolve to the `Response`
 * with its body unread, for the caller to stream; a `304` to `If-None-Match` resolves as well;
 * errors are thrown as for any call. `meridian.request()` on such a route does the same.
 */
import { describe, expect, it } from 'vitest';
import { http, HttpResponse } from 'msw';
import { NotFoundError } from '../src/index';
import { client, problem, server, url, useMsw } from './support/msw';

useMsw();

const PATH = '/v1/agent-releases/rel_1/artifacts/linux-amd64';
const CHUNKS = ['meridian', '-agent', '-build'];

/** Answers the download with CHUNKS as a stream, recording whether the client read it. */
function serveBuild() {
  const seen = { pulled: 0 };
  server.use(
    http.get(url(PATH), ({ request }) => {
      if (request.headers.get('if-none-match') === '"sha256-abc"')
        return new HttpResponse(null, { status: 304 });
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            const chunk = CHUNKS[seen.pulled++];
            if (chunk === undefined) controller.close();
            else controller.enqueue(encoder.encode(chunk));
          },
        },
        { highWaterMark: 0 },
      );
      return new HttpResponse(body, {
        headers: { 'Content-Type': 'application/octet-stream', ETag: '"sha256-abc"' },
      });
    }),
  );
  return seen;
}

describe('a file download', () => {
  it('resolves to the Response, its body unread until the caller streams it', async () => {
    const seen = serveBuild();
    const response = await client().agentReleases.downloadArtifact('rel_1', 'linux-amd64');
    expect(response).toBeInstanceOf(Response);
    expect(response.headers.get('etag')).toBe('"sha256-abc"');
    expect(response.bodyUsed).toBe(false);
    expect(seen.pulled).toBeLessThan(CHUNKS.length);
    const parts: string[] = [];
    for await (const chunk of response.body!) parts.push(new TextDecoder().decode(chunk));
    expect(parts.join('')).toBe(CHUNKS.join(''));
    expect(seen.pulled).toBe(CHUNKS.length + 1);
  });

  it('resolves with 304 when If-None-Match names the file', async () => {
    serveBuild();
    const response = await client().agentReleases.downloadArtifact('rel_1', 'linux-amd64', {
      headers: { 'If-None-Match': '"sha256-abc"' },
    });
    expect(response.status).toBe(304);
  });

  it('throws the error of an error answer', async () => {
    server.use(http.get(url(PATH), () => problem(404, 'artifact_not_stored')));
    const error = await client()
      .agentReleases.downloadArtifact('rel_1', 'linux-amd64')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('artifact_not_stored');
  });

  it('is a Response through meridian.request() as well', async () => {
    serveBuild();
    const response = await client().request<Response>('GET', PATH);
    expect(await response.text()).toBe(CHUNKS.join(''));
  });
});
