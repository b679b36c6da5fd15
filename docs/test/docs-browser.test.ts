/**
 * The docs in a real browser (Debian's Chromium through playwright-core) against the real
 * server: Scalar renders the reference offline, and its Try-It client sends requests to this
 * server and shows the real answers, including an authenticated call with a token pasted into
 * the Bearer field the way a user would. Every request the page makes is recorded: none may
 * leave the server's origin. All of it under the server's Content Security Policy (scripts and
 * connections from its own origin only): every violation the page reports is recorded, and
 * there may be none.
 *
 * Waits are on selectors, never on fixed sleeps, with generous timeouts for a busy 2-core CI box.
 */
import type { Browser, Locator, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test/support/programs';
import { ADMIN } from '../../test/support/server';
import { spec } from '../../test/support/spec';
import { useTestServer } from '../../test/support/use-test-server';

const UI_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 180_000;

describe('docs in a browser', () => {
  const t = useTestServer();
  let browser: Browser;
  let page: Page;
  const requests: Request[] = [];
  /** CSP violations: the browser's own console reports and the page's securitypolicyviolation events. */
  const violations: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('request', (request) => requests.push(request));
    page.on('console', (message) => {
      if (/Content Security Policy|securitypolicyviolation/.test(message.text()))
        violations.push(message.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`securitypolicyviolation ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
  }, TEST_TIMEOUT_MS);

  afterAll(() => browser?.close());

  /** Loads the reference and waits until Scalar has rendered the spec it fetched. */
  async function openReference(): Promise<void> {
    const response = await page.goto(`${t.url}/docs`);
    // Scripts from this origin only, none inline (see server-stub/src/http/security-headers.ts).
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self' 'unsafe-eval';");
    await page.getByRole('heading', { level: 1, name: 'Meridian API' }).waitFor();
  }

  /** Opens Try-It for one operation, as a user does: its "Test Request" button in the reference. */
  async function openTryIt(tag: string, method: string, path: string): Promise<Locator> {
    await page
      .locator(`section[id$="/tag/${tag}/${method}${path}"]`)
      .getByRole('button', { name: 'Test Request' })
      .click();
    const client = page.getByRole('dialog', { name: 'API Client' });
    await client.waitFor();
    return client;
  }

  /** Presses Send and waits for the response panel to show the expected status line. */
  async function send(client: Locator, status: string): Promise<string> {
    await client.getByRole('button', { name: /Send \w+ request to/ }).click();
    const response = client.getByRole('region', { name: 'Response', exact: true });
    await response.getByText(status, { exact: true }).waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: a Playwright Locator, not a DOM node
    return response.innerText();
  }

  it(
    'renders the reference with the sign-in note',
    async () => {
      await openReference();
      const note = page.getByRole('complementary', { name: 'How to authenticate' });
      await note.waitFor();
      // biome-ignore lint/performance/useDomNodeTextContent: a Playwright Locator, not a DOM node
      expect(await note.innerText()).toContain('Bearer Token');
      expect(await page.getByRole('link', { name: 'authentication guide' }).getAttribute('href')).toBe(
        '/docs/guides/authentication',
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'offers none of the Scalar features that send the spec or requests to scalar.com',
    async () => {
      await openReference();
      await page.getByRole('navigation', { name: 'Sidebar for Meridian API' }).waitFor();
      // With Scalar's defaults these appear on localhost: the AI agent, the developer toolbar
      // (with "Share", an upload of the spec) and "Open API Client" links to client.scalar.com.
      expect(await page.getByRole('button', { name: /Ask AI|Developer Tools|Share/ }).count()).toBe(0);
      expect(await page.locator('a[href*="client.scalar.com"]').count()).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "lists the spec's webhooks, one per event type, and shows each one",
    async () => {
      await openReference();
      const sidebar = page.getByRole('navigation', { name: 'Sidebar for Meridian API' });
      await sidebar.getByRole('button', { name: /^Webhook Events/ }).click();
      for (const type of Object.keys(spec.webhooks ?? {})) {
        await sidebar.getByText(type, { exact: true }).waitFor();
      }
      expect(Object.keys(spec.webhooks ?? {})).toContain('device.offline');
      await sidebar.getByText('device.offline', { exact: true }).click();
      await page.getByRole('heading', { name: 'device.offline', exact: true }).first().waitFor();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'sends GET /health from Try-It and shows the real response',
    async () => {
      await openReference();
      const client = await openTryIt('meta', 'GET', '/health');
      const response = await send(client, '200 OK');
      expect(response).toContain('"status": "ok"');
      const health = requests.filter((request) => request.url() === `${t.url}/health`);
      expect(health).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'sends GET /v1/auth/me with a token pasted into the Bearer field',
    async () => {
      const token = t.adminToken;
      await openReference();
      const sidebar = page.getByRole('navigation', { name: 'Sidebar for Meridian API' });
      await sidebar.getByRole('button', { name: /^Auth/ }).click();
      const client = await openTryIt('auth', 'GET', '/v1/auth/me');

      // Without a token the API refuses: the 200 below comes from the pasted token, nothing else.
      expect(await send(client, '401 Unauthorized')).toContain('"code": "unauthenticated"');

      await client.getByLabel('Bearer Token').fill(token);
      const response = await send(client, '200 OK');
      expect(response).toContain(`"username": "${ADMIN.username}"`);
      expect(response).toContain('"auth_method": "session"');
      const sent = requests
        .filter((request) => request.url() === `${t.url}/v1/auth/me`)
        .map((request) => request.headers().authorization);
      expect(sent).toEqual(['Bearer', `Bearer ${token}`]);
    },
    TEST_TIMEOUT_MS,
  );

  // Runs last: it checks everything the tests above made the page do.
  it('ran everything above under the Content Security Policy without a violation', () => {
    expect(violations).toEqual([]);
  });

  it('made every request to its own origin, and nowhere else', () => {
    const urls = requests.map((request) => request.url());
    // The check is only meaningful if the page really loaded: the bundle, the spec, the API calls.
    expect(urls).toEqual(
      expect.arrayContaining([
        `${t.url}/docs/assets/standalone.js`,
        `${t.url}/openapi.json`,
        `${t.url}/health`,
        `${t.url}/v1/auth/me`,
      ]),
    );
    const elsewhere = urls.filter((url) => new URL(url).origin !== t.url);
    expect(elsewhere).toEqual([]);
  });
});
