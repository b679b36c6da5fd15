/**
 * The `Meridian` client against Prism (the spec-driven mock): what the SDK makes of the spec's
 * own examples — typed pages, created resources, and the 401 Prism answers without credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrism, type PrismServer } from '@meridian/mocks/prism';
import { AuthenticationError, Meridian } from '../src/index';
import { operationById } from '../../test/support/spec';

let prism: PrismServer;
beforeAll(async () => {
  prism = await startPrism();
});
afterAll(async () => {
  await prism?.close();
});

const example = (operationId: string, status: string) =>
  Object.values(operationById(operationId).responses[status]?.content ?? {})[0]?.example;

describe('Meridian against Prism', () => {
  it('reads a page of sites as the spec example, with its cursor', async () => {
    const meridian = new Meridian({ baseUrl: prism.url, token: 'mtk_example', maxRetries: 0 });
    const page = await meridian.sites.list({ limit: 10 });
    const expected = example('listSites', '200') as { data: unknown[]; next_cursor: string | null };
    expect(page.data).toEqual(expected.data);
    expect(page.nextCursor).toBe(expected.next_cursor);
    expect(page.hasNextPage()).toBe(expected.next_cursor !== null);
  });

  it('creates a site and gets a device, with the Request-Id from the response', async () => {
    const meridian = new Meridian({ baseUrl: prism.url, token: 'mtk_example', maxRetries: 0 });
    expect(await meridian.sites.create({ name: 'Lisbon office' })).toEqual(example('createSite', '201'));
    const { data, requestId } = await meridian.devices.get('dev_01JD2M7T4X9K3QH5W8N6R2B4CZ').withResponse();
    expect(data).toEqual(example('getDevice', '200'));
    expect(requestId).toMatch(/^req_/);
  });

  it('turns the 401 Prism answers without a token into an AuthenticationError', async () => {
    const meridian = new Meridian({ baseUrl: prism.url, maxRetries: 0 });
    const error = await meridian.devices.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
  });
});
