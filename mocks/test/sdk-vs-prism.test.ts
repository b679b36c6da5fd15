/**
 * The SDK against Prism started by `startPrism`: statuses as the spec declares them, bodies and
 * headers that conform to it (checked with the cross-package response validator on the raw
 * responses), and Prism's credential check (presence only) as documented in start-prism.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMeridianClient,
  createSite,
  getDevice,
  getHealth,
  listSites,
  type Client,
  type SiteCreate,
} from '@meridian/sdk';
import { startPrism, type PrismServer } from '@meridian/mocks/prism';
import { responseViolations, type ObservedResponse } from '../../test/support/response-validator';
import { operationById } from '../../test/support/spec';

let prism: PrismServer;
const DEVICE_ID = 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ';

beforeAll(async () => {
  prism = await startPrism();
});
afterAll(async () => {
  await prism?.close();
});

/** An SDK client that also keeps the raw last response, to check it against the spec. */
function recordingClient(token?: string): { client: Client; last: () => ObservedResponse } {
  let last: ObservedResponse | undefined;
  const client = createMeridianClient({
    baseUrl: prism.url,
    ...(token === undefined ? {} : { token }),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      last = { status: response.status, headers: response.headers, body: await response.clone().text() };
      return response;
    },
  });
  return {
    client,
    last: () => {
      if (!last) throw new Error('no request was made');
      return last;
    },
  };
}

describe('SDK against Prism', () => {
  it('getHealth needs no token and conforms', async () => {
    const { client, last } = recordingClient();
    const { data } = await getHealth({ client });
    expect(last().status).toBe(200);
    expect(data?.status).toBe('ok');
    expect(responseViolations(operationById('getHealth'), last())).toEqual([]);
  });

  it('listSites with a token answers a conforming page', async () => {
    const { client, last } = recordingClient('mtk_any_token_will_do');
    const { data } = await listSites({ client, query: { limit: 5 } });
    expect(last().status).toBe(200);
    expect(data?.data.length).toBeGreaterThan(0);
    expect(responseViolations(operationById('listSites'), last())).toEqual([]);
  });

  it('getDevice with a token answers the device with an ETag', async () => {
    const { client, last } = recordingClient('mtk_any_token_will_do');
    const { data } = await getDevice({ client, path: { device_id: DEVICE_ID } });
    expect(last().status).toBe(200);
    expect(data?.id).toMatch(/^dev_/);
    expect(last().headers.get('ETag')).toBeTruthy();
    expect(responseViolations(operationById('getDevice'), last())).toEqual([]);
  });

  it('createSite with a valid body answers 201', async () => {
    const { client, last } = recordingClient('mtk_any_token_will_do');
    const body = operationById('createSite').requestBody?.content['application/json']?.example as SiteCreate;
    const { data, error } = await createSite({ client, body });
    expect(error).toBeUndefined();
    expect(last().status).toBe(201);
    expect(data?.name).toBe(body.name);
    expect(responseViolations(operationById('createSite'), last())).toEqual([]);
  });

  it('createSite with an invalid body answers the declared 422, naming the violation in sl-violations', async () => {
    const { client, last } = recordingClient('mtk_any_token_will_do');
    const { error } = await createSite({ client, body: {} as SiteCreate });
    expect(last().status).toBe(422);
    expect(error).toMatchObject({ status: 422 });
    expect(last().headers.get('sl-violations')).toContain("required property 'name'");
    expect(responseViolations(operationById('createSite'), last())).toEqual([]);
  });

  it.each([
    ['listSites', (client: Client) => listSites({ client })],
    ['getDevice', (client: Client) => getDevice({ client, path: { device_id: DEVICE_ID } })],
  ] as const)('%s without a token answers the declared 401', async (operationId, call) => {
    const { client, last } = recordingClient();
    const { data, error } = await call(client);
    expect(last().status).toBe(401);
    expect(data).toBeUndefined();
    expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(responseViolations(operationById(operationId), last())).toEqual([]);
  });
});
