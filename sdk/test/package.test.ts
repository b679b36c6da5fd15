/**
 * What an integrator gets: the packed tarball (`npm pack` of sdk/dist) installed into empty
 * projects, one ESM and one CommonJS, each running the README's quick start against the real
 * server and type-checking it with TypeScript's node16 resolution.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSdk } from '../scripts/build';
import { repoPath } from '../../scripts/lib/paths';
import { SPEC_PATH } from '../../test/support/spec';
import { useTestServer } from '../../test/support/use-test-server';

const exec = promisify(execFile);
/** Runs a command, with its output in the error when it fails (tsc reports on stdout). */
const run = (file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  exec(file, args, options).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
const TSC = repoPath('node_modules/typescript/bin/tsc');

const t = useTestServer();
let scratch: string;
let tarball: string;

beforeAll(async () => {
  await buildSdk();
  scratch = mkdtempSync(join(tmpdir(), 'meridian-sdk-pack-'));
  await run('npm', ['pack', repoPath('sdk/dist'), '--pack-destination', scratch, '--silent']);
  tarball = join(scratch, readdirSync(scratch).find((name) => name.endsWith('.tgz'))!);
}, 120_000);
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
});

/** An empty project with the tarball installed, as `npm install ./meridian-sdk-x.tgz` leaves it. */
async function project(name: string, type: 'module' | 'commonjs'): Promise<string> {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type }));
  await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--silent'], { cwd: dir });
  return dir;
}

// The scratch projects borrow only Node's own type definitions from this repository.
const tsconfig = {
  compilerOptions: {
    module: 'node16',
    moduleResolution: 'node16',
    target: 'es2022',
    strict: true,
    outDir: 'build',
    skipLibCheck: false,
    lib: ['es2022', 'dom'],
    typeRoots: [repoPath('node_modules/@types')],
    types: ['node'],
  },
};

/** Type-checks index.ts against the installed package (tsc fails on any error), then runs it. */
async function compileAndRun(dir: string) {
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['index.ts'] }));
  await run(process.execPath, [TSC, '-p', dir]);
  return run(process.execPath, [join(dir, 'build/index.js')], {
    cwd: dir,
    env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken },
  });
}

describe('the packed SDK', () => {
  it('contains only the build, its README, license and manifest, with no runtime dependencies', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout
      .trim()
      .split('\n')
      .map((file) => file.replace(/^package\//, ''))
      .sort();
    expect(files).toContain('index.js');
    expect(files).toContain('index.cjs');
    expect(files).toContain('index.d.cts');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(
      files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.d.cts')),
    ).toEqual([]);
    const manifest = JSON.parse(
      (await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout,
    ) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    // The license the spec states (info.license), in the manifest and as the file itself.
    expect(manifest.license).toBe('Apache-2.0');
    const stated = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { info: { license: { name: string } } };
    expect(manifest.license).toBe(stated.info.license.name);
    const license = (await run('tar', ['-xzOf', tarball, 'package/LICENSE'])).stdout;
    expect(license).toBe(readFileSync(repoPath('LICENSE'), 'utf8'));
    expect(license).toContain('Apache License');
  });

  it('imports nothing Node-only from its entry points, so browsers, Deno and Bun can load them', async () => {
    for (const entry of ['index.js', 'index.cjs', 'paths.js', 'zod.js']) {
      const code = (await run('tar', ['-xzOf', tarball, `package/${entry}`])).stdout;
      expect(code, entry).not.toMatch(/\bfrom\s*["']node:|require\(["']node:|\bimport\(["']node:/);
      expect(code, entry).not.toMatch(
        /\bfrom\s*["'](fs|path|os|crypto|http|https|stream|url|util|buffer)["']/,
      );
    }
  });

  it('works from an ESM project: the quick start runs and type-checks', async () => {
    const dir = await project('esm-app', 'module');
    writeFileSync(
      join(dir, 'index.ts'),
      `import Meridian, { NotFoundError } from '@meridian/sdk';
import type { paths } from '@meridian/sdk/paths';

const meridian = new Meridian({ baseUrl: process.env.MERIDIAN_URL!, token: process.env.MERIDIAN_TOKEN });
const site = await meridian.sites.create({ name: 'Lisbon office' });
await meridian.devices.register({ name: 'Lobby kiosk', site_id: site.id, platform: 'windows' });
const names: string[] = [];
for await (const device of meridian.devices.list({ site_id: site.id })) names.push(device.name);
try {
  await meridian.devices.get('dev_01JD2M7T4X9K3QH5W8N6R2B4CZ');
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error;
  names.push(error.code ?? 'no code');
}
type DevicePath = keyof paths;
const path: DevicePath = '/v1/devices';
console.log(JSON.stringify({ site: site.name, names, path }));
`,
    );
    const { stdout } = await compileAndRun(dir);
    expect(JSON.parse(stdout)).toEqual({
      site: 'Lisbon office',
      names: ['Lobby kiosk', 'not_found'],
      path: '/v1/devices',
    });
  });

  it('works from a CommonJS project: require, instanceof across the API and types resolve', async () => {
    const dir = await project('cjs-app', 'commonjs');
    writeFileSync(
      join(dir, 'index.ts'),
      `import { Meridian, AuthenticationError, MeridianError } from '@meridian/sdk';

async function main(): Promise<void> {
  const meridian = new Meridian({ baseUrl: process.env.MERIDIAN_URL!, token: process.env.MERIDIAN_TOKEN });
  const page = await meridian.sites.list({ limit: 10 });
  const stranger = new Meridian({ baseUrl: process.env.MERIDIAN_URL!, token: 'mtk_not-a-token', maxRetries: 0 });
  const error = await stranger.sites.list().catch((caught: unknown) => caught);
  console.log(JSON.stringify({
    sites: page.data.map((site) => site.name),
    refused: error instanceof AuthenticationError && error instanceof MeridianError ? error.status : null,
  }));
}
void main();
`,
    );
    const { stdout } = await compileAndRun(dir);
    expect(JSON.parse(stdout)).toEqual({ sites: ['Lisbon office'], refused: 401 });
  });
});
