/** Cursor pagination: pages, `for await` over every item, `nextPage`, `toArray({ limit })`. */
import { beforeEach, describe, expect, it } from 'vitest';
import { http } from 'msw';
import { NotFoundError, Page, PagePromise, type Device } from '../src/index';
import { client, json, problem, server, url, useMsw } from './support/msw';

useMsw();

const device = (n: number): Device => ({
  id: `dev_${String(n).padStart(26, '0')}`,
  name: `kiosk-${n}`,
  description: '',
  site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M',
  platform: 'linux',
  device_type: 'workstation',
  status: 'online',
  hostname: null,
  tags: [],
  agent_version: null,
  os_name: null,
  os_version: null,
  timezone: null,
  addresses: [],
  uptime_seconds: null,
  metrics: null,
  last_seen_at: null,
  enrolled_at: null,
  credentials_revoked_at: null,
  custom_fields: {},
  created_at: '2026-10-01T00:00:00.000Z',
  updated_at: '2026-10-01T00:00:00.000Z',
});
const FLEET = Array.from({ length: 7 }, (_, i) => device(i + 1));

let requests: URL[] = [];

/** The devices list of a real server: `limit` per page, an opaque cursor, filters kept. */
beforeEach(() => {
  requests = [];
  server.use(
    http.get(url('/v1/devices'), ({ request }) => {
      const query = new URL(request.url);
      requests.push(query);
      const limit = Number(query.searchParams.get('limit') ?? 50);
      const cursor = query.searchParams.get('cursor');
      const start = cursor ? Number(atob(cursor)) : 0;
      const data = FLEET.slice(start, start + limit);
      const next = start + limit < FLEET.length ? btoa(String(start + limit)) : null;
      return json({ data, next_cursor: next });
    }),
  );
});

describe('pagination', () => {
  it('awaits to the first page', async () => {
    const page = await client().devices.list({ limit: 3 });
    expect(page).toBeInstanceOf(Page);
    expect(page.data.map((d) => d.name)).toEqual(['kiosk-1', 'kiosk-2', 'kiosk-3']);
    expect(page.nextCursor).toBe(btoa('3'));
    expect(page.hasNextPage()).toBe(true);
    expect(page.response.status).toBe(200);
    expect(requests).toHaveLength(1);
  });

  it('iterates every item across pages with for await on the call itself', async () => {
    const list = client().devices.list({
      limit: 3,
      site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M',
      status: 'online',
    });
    expect(list).toBeInstanceOf(PagePromise);
    const names: string[] = [];
    for await (const d of list) names.push(d.name);
    expect(names).toEqual(FLEET.map((d) => d.name));
    expect(requests.map((r) => r.searchParams.get('cursor'))).toEqual([null, btoa('3'), btoa('6')]);
    for (const request of requests) {
      expect(request.searchParams.get('limit')).toBe('3');
      expect(request.searchParams.get('site_id')).toBe('site_01JC0A1B2C3D4E5F6G7H8J9K0M');
      expect(request.searchParams.get('status')).toBe('online');
    }
  });

  it('fetches no further page once the loop breaks', async () => {
    for await (const d of client().devices.list({ limit: 3 })) {
      if (d.name === 'kiosk-2') break;
    }
    expect(requests).toHaveLength(1);
  });

  it('walks pages with hasNextPage/nextPage, and refuses to go past the last', async () => {
    let page = await client().devices.list({ limit: 5 });
    const sizes = [page.data.length];
    while (page.hasNextPage()) {
      page = await page.nextPage();
      sizes.push(page.data.length);
    }
    expect(sizes).toEqual([5, 2]);
    expect(page.nextCursor).toBeNull();
    await expect(page.nextPage()).rejects.toThrow('check hasNextPage()');
    const pages: number[] = [];
    for await (const each of (await client().devices.list({ limit: 3 })).iterPages())
      pages.push(each.data.length);
    expect(pages).toEqual([3, 3, 1]);
  });

  it('toArray needs a limit, stops at it and fetches no more pages than that takes', async () => {
    const list = client().devices.list({ limit: 2 });
    // @ts-expect-error: the limit is required
    await expect(list.toArray()).rejects.toThrow(TypeError);
    // @ts-expect-error: the limit is required
    await expect(list.toArray({})).rejects.toThrow('toArray() needs { limit }');
    await expect(list.toArray({ limit: -1 })).rejects.toThrow(TypeError);
    requests = [];
    const three = await client().devices.list({ limit: 2 }).toArray({ limit: 3 });
    expect(three.map((d) => d.name)).toEqual(['kiosk-1', 'kiosk-2', 'kiosk-3']);
    expect(requests).toHaveLength(2);
    expect(await client().devices.list({ limit: 2 }).toArray({ limit: Infinity })).toEqual(FLEET);
    expect(await (await client().devices.list({ limit: 4 })).toArray({ limit: 100 })).toHaveLength(7);
  });

  it('gives the first page with its response and request id', async () => {
    const { data: page, response, requestId } = await client().devices.list({ limit: 3 }).withResponse();
    expect(page.data).toHaveLength(3);
    expect(response.headers.get('request-id')).toBe(requestId);
    expect(requestId).toMatch(/^req_/);
  });

  it('rejects the loop with the typed error of a failing page', async () => {
    server.use(http.get(url('/v1/users'), () => problem(404, 'not_found')));
    const loop = async () => {
      for await (const _ of client().users.list()) void _;
    };
    await expect(loop()).rejects.toBeInstanceOf(NotFoundError);
  });
});
