/**
 * What an integrator installs: the packed @meridian/mocks (`npm pack` of mocks/dist) with the
 * packed SDK, msw and vitest, in an empty project (one install, from the npm cache when it
 * holds them). There, vitest runs the integrator's own test (test/consumer/) of an SDK-based
 * script against the handlers: the spec's example answer, an override and an errorResponse.
 * The package's bin, the conformance runner, runs there with npx against the real server.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSdk } from '../../sdk/scripts/build';
import { repoPath } from '../../scripts/lib/paths';
import { useTestServer } from '../../test/support/use-test-server';
import { BIN, buildMocks } from '../scripts/build';

const exec = promisify(execFile);
/** Runs a command, with its output in the error when it fails. */
const run = (file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  exec(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    },
  );
/** The versions the repository itself tests with. */
const rootManifest = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
const mocksManifest = JSON.parse(readFileSync(repoPath('mocks/package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

const t = useTestServer();
let scratch: string;
let tarball: string;
let app: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'meridian-mocks-pack-'));
  // Built into the scratch folder (as npm run sdk:build and mocks:build would), never racing other
  // package tests that rebuild sdk/dist.
  const [sdk, mocks] = [join(scratch, 'sdk'), join(scratch, 'mocks')];
  await Promise.all([buildSdk(sdk), buildMocks(mocks)]);
  await run('npm', ['pack', sdk, mocks, '--pack-destination', scratch]);
  const tarballs = readdirSync(scratch).filter((name) => name.endsWith('.tgz'));
  tarball = join(scratch, tarballs.find((name) => name.startsWith('meridian-mocks-'))!);
  app = join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run(
    'npm',
    [
      'install',
      ...tarballs.map((name) => join(scratch, name)),
      `msw@${mocksManifest.dependencies.msw}`,
      `vitest@${rootManifest.devDependencies.vitest}`,
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: app },
  );
}, 240_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed mocks', () => {
  it('holds the build, the bin with its spec, README, license and manifest: msw a peer, no dependencies', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout
      .trim()
      .split('\n')
      .map((file) => file.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining([
        'index.js',
        'index.cjs',
        'index.d.ts',
        'index.d.cts',
        `${BIN}.js`,
        'openapi.json',
        'README.md',
        'LICENSE',
      ]),
    );
    expect(
      files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.d.cts')),
    ).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@meridian/mocks/package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependencies).toEqual({ msw: `^${mocksManifest.dependencies.msw}` });
    expect(manifest.bin).toEqual({ [BIN]: `./${BIN}.js` });
    // msw is the project's own copy, not one bundled into the handlers.
    const code = readFileSync(join(app, 'node_modules/@meridian/mocks/index.js'), 'utf8');
    expect(code).toMatch(/from ["']msw["']/);
  });

  it("runs an integrator's vitest suite of an SDK-based script against the handlers", async () => {
    cpSync(repoPath('mocks/test/consumer'), join(app, 'test'), { recursive: true });
    await run(
      process.execPath,
      [
        join(app, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--root',
        app,
        '--reporter=json',
        '--outputFile=results.json',
      ],
      { cwd: app },
    );
    const results = JSON.parse(readFileSync(join(app, 'results.json'), 'utf8')) as {
      testResults: { assertionResults: { title: string; status: string }[] }[];
    };
    expect(results.testResults.flatMap((file) => file.assertionResults)).toEqual(
      [
        { title: 'reports the spec example site and its online device', status: 'passed' },
        { title: 'reports a site without devices when listDevices is overridden', status: 'passed' },
        { title: 'reports nothing for a site the API answers 404 for', status: 'passed' },
      ].map((expected) => expect.objectContaining(expected)),
    );
  });

  it('ships the conformance runner as a bin that runs with npx and passes against the real server', async () => {
    const report = join(app, 'conformance.json');
    const { stdout } = await run('npx', [BIN, '--url', t.url, '--report-json', report], {
      cwd: app,
      env: { ...process.env, MERIDIAN_TOKEN: t.adminToken },
    });
    expect(stdout).toMatch(/checks, \d+ passed, 0 failed/);
    const { summary } = JSON.parse(readFileSync(report, 'utf8')) as { summary: Record<string, number> };
    expect(summary).toMatchObject({ failed: 0 });
    expect(summary.passed).toBeGreaterThan(100);
  });
});
