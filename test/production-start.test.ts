/**
 * A production start without dev tools: `npm run build` bundles the server, the files a
 * deployment needs are copied to an empty directory, `npm ci --omit=dev` installs the
 * workspaces' production dependencies there (no tsx, esbuild or vitest; better-sqlite3 compiles
 * from source: on two busy cores npm ci took up to 6 minutes, hence the long timeouts), and
 * `node server-stub/dist/main.js` serves the API, the spec, the docs and their guides, then
 * shuts down cleanly on SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { getHealth, getReadiness, getVersion, login } from '@meridian/sdk';
import { clientOf } from './support/child';
import { ADMIN, ok } from './support/server';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What a deployment holds besides node_modules: the manifests, the bundle, the files it reads. */
const DEPLOYED = [
  'package.json',
  'package-lock.json',
  'sdk/package.json',
  'server-stub/package.json',
  'mocks/package.json',
  'docs/package.json',
  'server-stub/dist/main.js',
  'openapi/dist/openapi.json',
  'docs/guides',
  'docs/assets',
  'sdk/README.md',
];

const run = promisify(execFile);

it('runs node server-stub/dist/main.js after npm ci --omit=dev', async () => {
  await run('npm', ['run', 'build'], { cwd: ROOT });
  const dir = mkdtempSync(join(tmpdir(), 'meridian-production-'));
  try {
    for (const path of DEPLOYED) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      timeout: 1_080_000,
    });
    for (const devTool of ['tsx', 'esbuild', 'vitest'])
      expect(existsSync(join(dir, 'node_modules', devTool))).toBe(false);

    const { NODE_OPTIONS: _loaders, ...env } = process.env;
    const server = spawn(process.execPath, ['server-stub/dist/main.js'], {
      cwd: dir,
      env: {
        ...env,
        NODE_ENV: 'production',
        PORT: '0',
        MERIDIAN_LOG_LEVEL: 'warn',
        MERIDIAN_ADMIN_USERNAME: ADMIN.username,
        MERIDIAN_ADMIN_PASSWORD: ADMIN.password,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        server.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const api = /API\s+(http:\/\/\S+)\/v1/.exec(output);
          if (api) resolve(api[1]!);
        });
        void exited.then((code) => reject(new Error(`the server exited (${code}) before it listened`)));
      });
      const anonymous = clientOf(url);
      expect(ok(await getHealth({ client: anonymous })).status).toBe('ok');
      expect(ok(await getReadiness({ client: anonymous }))).toEqual({ status: 'ready' });
      const { token } = ok(await login({ client: anonymous, body: ADMIN }));
      expect(ok(await getVersion({ client: clientOf(url, token) })).database).toBe('sqlite');
      // The files read at run time are found from the bundle.
      for (const path of [
        '/openapi.json',
        '/docs',
        '/docs/guides/errors',
        '/docs/guides/sdk',
        '/docs/assets/site.css',
        '/docs/assets/standalone.js',
      ])
        expect((await fetch(`${url}${path}`)).status, path).toBe(200);

      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 1_200_000);
