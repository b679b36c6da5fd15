/**
 * An integrator's own test of their own SDK-based script (site-report.ts) with the packed
 * @meridian/mocks: mocks/test/package.test.ts copies this directory into an empty project that
 * installed the tarballs, and runs it there with vitest.
 */
import { Meridian } from '@meridian/sdk';
import { createHandlers, errorResponse, handlers } from '@meridian/mocks';
import { HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { siteReport } from './site-report';

const server = setupServer(...handlers);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const meridian = new Meridian({ baseUrl: 'https://meridian.example.com', token: 'mtk_test', maxRetries: 0 });
const SITE = 'site_01JC0A1B2C3D4E5F6G7H8J9K0M';

it('reports the spec example site and its online device', async () => {
  expect(await siteReport(meridian, SITE)).toEqual({ site: 'Lisbon office', online: ['Lobby kiosk 2'] });
});

it('reports a site without devices when listDevices is overridden', async () => {
  server.use(
    ...createHandlers({
      overrides: { listDevices: () => HttpResponse.json({ data: [], next_cursor: null }) },
    }),
  );
  expect(await siteReport(meridian, SITE)).toEqual({ site: 'Lisbon office', online: [] });
});

it('reports nothing for a site the API answers 404 for', async () => {
  server.use(...createHandlers({ overrides: { getSite: () => errorResponse('getSite', 404) } }));
  expect(await siteReport(meridian, SITE)).toBeNull();
});
