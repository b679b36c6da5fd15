/**
 * The way SDK users are meant to use the mocks: MSW's `setupServer` with `createHandlers`, and
 * the real `@meridian/sdk` calling through it. Expected values are read from the spec itself,
 * not from the generated table, so a generator that served the wrong example would fail here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setupServer } from 'msw/node';
import {
  createMeridianClient,
  createSite,
  getDevice,
  getHealth,
  listDevices,
  type Client,
  type SiteCreate,
} from '@meridian/sdk';
import { createHandlers, errorResponse, handlers } from '../src/index';
import { deref, operationById } from '../../test/support/spec';

const BASE_URL = 'http://meridian.mock';
const server = setupServer(...createHandlers({ baseUrl: BASE_URL }));

/** The spec's example for one response of an operation (its first media type). */
function specExample(operationId: string, status: number): unknown {
  const content = operationById(operationId).responses[String(status)]?.content ?? {};
  return Object.values(content)[0]?.example;
}

/** hey-api's client keeps the `fetch` it was given; this one looks up the global (MSW's) on each call. */
function client(baseUrl = BASE_URL): Client {
  return createMeridianClient({ baseUrl, token: 'mtk_test', fetch: (...args) => globalThis.fetch(...args) });
}

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('SDK against the generated MSW handlers', () => {
  it('getHealth answers the spec example with a Request-Id', async () => {
    const { data, error, response } = await getHealth({ client: client() });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('application/json');
    expect(response.headers.get('Request-Id')).toMatch(/^req_/);
    expect(data).toEqual(specExample('getHealth', 200));
  });

  it('listDevices answers the spec example whatever the filters', async () => {
    const { data, response } = await listDevices({
      client: client(),
      query: { status: 'online', limit: 10 },
    });
    expect(response.status).toBe(200);
    expect(data).toEqual(specExample('listDevices', 200));
    expect(data?.data.length).toBeGreaterThan(0);
  });

  it('getDevice answers the spec example with its ETag, echoing the requested id', async () => {
    const example = specExample('getDevice', 200) as { id: string };
    const same = await getDevice({ client: client(), path: { device_id: example.id } });
    expect(same.data).toEqual(example);
    const etag = deref<{ schema: { examples: string[] } }>(
      operationById('getDevice').responses['200']?.headers?.ETag,
    ).schema.examples[0];
    expect(same.response.headers.get('ETag')).toBe(etag);

    const otherId = 'dev_01JD2M7T4X9K3QH5W8N6R2B4D0';
    const other = await getDevice({ client: client(), path: { device_id: otherId } });
    expect(other.data).toEqual({ ...example, id: otherId });
  });

  it('createSite answers 201 with the spec example', async () => {
    const body = operationById('createSite').requestBody?.content['application/json']?.example as SiteCreate;
    const { data, error, response } = await createSite({ client: client(), body });
    expect(error).toBeUndefined();
    expect(response.status).toBe(201);
    expect(data).toEqual(specExample('createSite', 201));
  });

  it('an override with errorResponse gives the SDK the spec problem as its error', async () => {
    server.use(
      ...createHandlers({
        baseUrl: BASE_URL,
        overrides: { getDevice: () => errorResponse('getDevice', 404) },
      }),
    );
    const { data, error, response } = await getDevice({
      client: client(),
      path: { device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ' },
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(response.headers.get('Content-Type')).toBe('application/problem+json');
    expect(error).toEqual(specExample('getDevice', 404));
    expect(error).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('errorResponse refuses a status the operation does not declare', () => {
    // @ts-expect-error getHealth declares only 400, 429 and 500: the compiler rejects 404 too.
    expect(() => errorResponse('getHealth', 404)).toThrow(
      'getHealth does not declare a 404 response (it declares 400, 429, 500)',
    );
  });

  it('the default handlers answer on any origin', async () => {
    server.use(...handlers);
    const { data } = await getHealth({ client: client('https://api.example.com') });
    expect(data).toEqual(specExample('getHealth', 200));
  });
});
