/**
 * CORS in a real browser (Debian's Chromium through playwright-core): a page served on another
 * port — another origin — calls the API with the SDK and a bearer token. From an allowed origin
 * the calls go through, preflighted POST with an Idempotency-Key and PATCH with If-Match
 * included, and the page can read the exposed Request-Id and ETag; the same page from an origin
 * that is not allowed fails, and its create never reaches the API.
 *
 * The SDK is bundled for the browser from sdk/src/index.ts with esbuild (tsup's and vite's
 * bundler) when the test starts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSites, type Meridian } from '@meridian/sdk';
import { launchChromium } from './support/programs';
import { ok, startTestServer, type TestServer } from './support/server';
import { unique } from './support/world';

const TEST_TIMEOUT_MS = 120_000;

/** What the page reports after calling the API. */
type Outcome =
  | { ok: true; requestId: string | undefined; etag: string; description: string | null }
  | { ok: false; error: string };

declare global {
  interface Window {
    Meridian: typeof Meridian;
  }
}

/** Serves a page that loads the SDK bundle, and the bundle, on a free port of 127.0.0.1. */
async function servePage(sdk: string): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdk);
      return;
    }
    res
      .writeHead(200, { 'Content-Type': 'text/html' })
      .end(
        '<!doctype html><title>A console</title>' +
          "<script type=module>import { Meridian } from '/sdk.js'; window.Meridian = Meridian;</script>",
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the SDK in a browser page on another origin', () => {
  let allowed: { origin: string; server: Server };
  let other: { origin: string; server: Server };
  let t: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [new URL('../sdk/src/index.ts', import.meta.url).pathname],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'error',
    });
    const sdk = bundle.outputFiles[0]!.text;
    allowed = await servePage(sdk);
    other = await servePage(sdk);
    t = await startTestServer({ corsOrigins: [allowed.origin] });
    browser = await launchChromium();
    page = await browser.newPage();
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    for (const served of [allowed, other]) await new Promise((resolve) => served?.server.close(resolve));
  });

  /** Opens the page on `origin` and has it create a site and update it, through the SDK. */
  async function callFrom(origin: string, name: string): Promise<Outcome> {
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.Meridian !== undefined);
    return page.evaluate(
      async ({ baseUrl, token, name }): Promise<Outcome> => {
        const meridian = new window.Meridian({ baseUrl, token, maxRetries: 0 });
        try {
          const created = await meridian.sites.create({ name }).withResponse();
          // Readable only when the API exposes it (Access-Control-Expose-Headers).
          const etag = created.response.headers.get('etag');
          if (etag === null) return { ok: false, error: 'the ETag header is not readable' };
          const updated = await meridian.sites.update(
            created.data.id,
            { description: 'Changed from a browser' },
            { ifMatch: etag },
          );
          return {
            ok: true,
            requestId: created.requestId,
            etag,
            description: updated.description,
          };
        } catch (error) {
          return { ok: false, error: (error as Error).name };
        }
      },
      { baseUrl: t.url, token: t.adminToken, name },
    );
  }

  it(
    'calls the API from an allowed origin, reading the exposed headers',
    async () => {
      const outcome = await callFrom(allowed.origin, unique('From a browser'));
      expect(outcome).toMatchObject({ ok: true, description: 'Changed from a browser' });
      const { requestId, etag } = outcome as Extract<Outcome, { ok: true }>;
      expect(requestId).toMatch(/^req_/);
      expect(etag).toMatch(/^"\d+"$/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails from an origin that is not allowed, without reaching the API',
    async () => {
      const name = unique('Refused');
      const outcome = await callFrom(other.origin, name);
      expect(outcome).toEqual({ ok: false, error: 'APIConnectionError' });
      const sites = ok(await listSites({ client: t.admin, query: { q: name } })).data;
      expect(sites).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
