/**
 * The docs site over plain HTTP: the reference page, every guide, the assets, 404s for what does
 * not exist, links that lead somewhere, and the static build served from a plain static host.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSETS } from '../src/assets';
import { GUIDES_DIR, SDK_MANUAL } from '../src/guides';
import { useTestServer } from '../../test/support/use-test-server';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REQUIRED_GUIDES = [
  'quick-start',
  'authentication',
  'pagination',
  'errors',
  'idempotency',
  'webhooks',
  'filters',
];

/** Every guide file on disk (so a guide that is added but never served fails the test), and the SDK's manual. */
async function guideNamesOnDisk(): Promise<string[]> {
  const files = await readdir(GUIDES_DIR);
  return [
    ...files.filter((file) => file.endsWith('.md')).map((file) => file.slice(0, -'.md'.length)),
    SDK_MANUAL.slug,
  ].sort();
}

async function fetchPage(url: string): Promise<{ status: number; type: string; html: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    html: await response.text(),
  };
}

const decodeAttribute = (value: string): string =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The same-origin URLs a page links to or loads (href and src), without fragments. */
function localLinks(html: string, pageUrl: string): string[] {
  const { origin } = new URL(pageUrl);
  const urls = [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)]
    .map((match) => new URL(decodeAttribute(match[1] ?? ''), pageUrl))
    .filter((url) => url.origin === origin)
    .map((url) => `${url.origin}${url.pathname}${url.search}`);
  return [...new Set(urls)];
}

/** Follows every same-origin link from the start pages (one level deep) and returns those that do not answer 200. */
async function brokenLinks(startPages: string[]): Promise<string[]> {
  const broken: string[] = [];
  for (const pageUrl of startPages) {
    const { html } = await fetchPage(pageUrl);
    for (const link of localLinks(html, pageUrl)) {
      const response = await fetch(link);
      await response.arrayBuffer();
      if (response.status !== 200) broken.push(`${pageUrl} → ${link}: ${response.status}`);
    }
  }
  return broken;
}

describe('docs pages', () => {
  const t = useTestServer();
  let guideNames: string[];

  beforeAll(async () => {
    guideNames = await guideNamesOnDisk();
  });

  it('has every required guide on disk', () => {
    expect(guideNames).toEqual(expect.arrayContaining(REQUIRED_GUIDES));
  });

  it.each(['/docs', '/docs/'])(
    'serves the reference page at %s with the offline Scalar bundle and the sign-in note',
    async (path) => {
      const page = await fetchPage(`${t.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.type).toMatch(/^text\/html/);
      expect(page.html).toContain('<script src="/docs/assets/standalone.js"></script>');
      expect(page.html).toContain('"withDefaultFonts":false');
      expect(page.html).toContain('"proxyUrl":""');
      expect(page.html).toContain('<code>POST /v1/auth/login</code>');
      expect(page.html).not.toMatch(/cdn\.jsdelivr|unpkg|fonts\.scalar|fonts\.googleapis/);
    },
  );

  it('renders every guide at /docs/guides/<name> in the shared layout', async () => {
    for (const name of guideNames) {
      const page = await fetchPage(`${t.url}/docs/guides/${name}`);
      expect(page.status, name).toBe(200);
      expect(page.type, name).toMatch(/^text\/html/);
      expect(page.html, name).toMatch(/<main class="guide">\s*<h1 id="[a-z0-9-]+">[^<]+<\/h1>/);
      expect(page.html, name).toContain(`<a href="/docs/guides/${name}" aria-current="page">`);
      expect(page.html, name).toContain('<a href="/docs/">API reference</a>');
    }
  });

  it("serves the SDK's manual (sdk/README.md) as the guide sdk, its sections linkable", async () => {
    const page = await fetchPage(`${t.url}/docs/guides/${SDK_MANUAL.slug}`);
    expect(page.status).toBe(200);
    const manual = await readFile(SDK_MANUAL.file, 'utf8');
    for (const [, heading] of manual.matchAll(/^## (.+)$/gm))
      expect(page.html).toContain(`>${heading!.replaceAll('&', '&amp;')}</h2>`);
    expect(page.html).toContain('<h2 id="browser-use">');
    expect(page.html).toContain('<a href="#browser-use">Browser use</a>');
    expect(page.html).toContain('<code>meridian.devices</code>');
    // The manual's links into the repository keep their text and lose their target.
    expect(page.html).toMatch(/runnable file in\s<code>examples\/sdk\/<\/code>/);
  });

  it('lists every guide at /docs/guides', async () => {
    const page = await fetchPage(`${t.url}/docs/guides`);
    expect(page.status).toBe(200);
    for (const name of guideNames) expect(page.html).toContain(`<li><a href="/docs/guides/${name}">`);
  });

  it.each([
    'no-such-guide',
    'Errors',
    'errors.md',
    '..%2Fguides%2Ferrors.md',
    '..%2F..%2Fpackage.json',
    '%2Fetc%2Fpasswd',
  ])('answers 404 for the unknown guide %s', async (name) => {
    const page = await fetchPage(`${t.url}/docs/guides/${name}`);
    expect(page.status).toBe(404);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.html).toContain('Guide not found');
  });

  it('serves the Scalar bundle and stylesheets from /docs/assets', async () => {
    const script = await fetch(`${t.url}/docs/assets/standalone.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await script.arrayBuffer()).byteLength).toBe((await stat(ASSETS['standalone.js'])).size);
    for (const sheet of ['style.css', 'site.css']) {
      const response = await fetch(`${t.url}/docs/assets/${sheet}`);
      expect(response.status, sheet).toBe(200);
      expect(response.headers.get('content-type'), sheet).toMatch(/^text\/css/);
    }
    const unknown = await fetch(`${t.url}/docs/assets/index.ts`);
    expect(unknown.status).toBe(404);
  });

  it('links from every page lead to pages that exist', async () => {
    const pages = ['/docs', '/docs/guides', ...guideNames.map((name) => `/docs/guides/${name}`)].map(
      (path) => `${t.url}${path}`,
    );
    expect(await brokenLinks(pages)).toEqual([]);
  });

  it('problem types open the section of the errors guide that explains their code', async () => {
    const token = t.adminToken;
    const problems = await Promise.all(
      [
        fetch(`${t.url}/v1/auth/me`),
        fetch(`${t.url}/v1/sites?limit=0`, { headers: { Authorization: `Bearer ${token}` } }),
        fetch(`${t.url}/v1/no-such-route`, { headers: { Authorization: `Bearer ${token}` } }),
        fetch(`${t.url}/v1/sites`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` } }),
      ].map(async (request) => (await request).json() as Promise<{ type: string; code: string }>),
    );
    expect(problems.map((problem) => problem.code)).toEqual([
      'unauthenticated',
      'validation_failed',
      'route_not_found',
      'method_not_allowed',
    ]);
    for (const problem of problems) {
      const target = new URL(problem.type, t.url);
      const page = await fetchPage(target.href);
      expect(page.status, problem.type).toBe(200);
      expect(page.html, problem.type).toContain(`id="${target.hash.slice(1)}"`);
    }
  });
});

describe('npm run docs:build', () => {
  let outDir: string;
  let staticHost: Server;
  let siteUrl: string;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'meridian-docs-'));
    await promisify(execFile)('npm', ['run', '--silent', 'docs:build', '--', outDir], { cwd: REPO_ROOT });
    // Served under a sub-path by a plain static server: only relative links can work there.
    const app = express().use('/some/prefix', express.static(outDir));
    staticHost = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    siteUrl = `http://127.0.0.1:${(staticHost.address() as AddressInfo).port}/some/prefix`;
  }, 120_000);
  afterAll(async () => {
    await new Promise((resolve) => staticHost?.close(resolve));
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes every page, the assets and the spec', async () => {
    const guideNames = await guideNamesOnDisk();
    const expected = [
      'index.html',
      'openapi.json',
      ...Object.keys(ASSETS).map((name) => `assets/${name}`),
      'guides/index.html',
      ...guideNames.map((name) => `guides/${name}.html`),
    ].sort();
    const written = (await readdir(outDir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(outDir.length + 1))
      .sort();
    expect(written).toEqual(expected);
    expect(await readFile(join(outDir, 'openapi.json'), 'utf8')).toBe(
      await readFile(join(REPO_ROOT, 'openapi/dist/openapi.json'), 'utf8'),
    );
  });

  it('works from a static host: every page is HTML and every link resolves', async () => {
    const guideNames = await guideNamesOnDisk();
    const pages = ['index.html', 'guides/index.html', ...guideNames.map((name) => `guides/${name}.html`)].map(
      (path) => `${siteUrl}/${path}`,
    );
    for (const url of pages) {
      const page = await fetchPage(url);
      expect(page.status, url).toBe(200);
      expect(page.type, url).toMatch(/^text\/html/);
    }
    const reference = await fetchPage(`${siteUrl}/index.html`);
    expect(reference.html).toContain('<script src="assets/standalone.js"></script>');
    expect(reference.html).toContain('"url":"openapi.json"');
    expect(await brokenLinks(pages)).toEqual([]);
  });
});
