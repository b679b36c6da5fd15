/**
 * Runs each example as a user would (a separate process, configured by environment) against a
 * fresh in-memory server, and checks both its output and what it did to the server.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listDevices, listSites } from '@meridian/sdk';
import { ADMIN, ok } from '../test/support/server';
import { useTestServer } from '../test/support/use-test-server';

const run = promisify(execFile);
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const example = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

const t = useTestServer();

const withToken = () => ({ env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken } });

/** The low-level layer (hey-api's functions and their client), which examples do not teach. */
const LOW_LEVEL = new Set([
  'createMeridianClient',
  ...[
    ...readFileSync(new URL('../sdk/src/generated/sdk.gen.ts', import.meta.url), 'utf8').matchAll(
      /^export const (\w+)/gm,
    ),
  ].map((match) => match[1]!),
]);

describe('examples', () => {
  it('use the Meridian client, not the low-level functions', () => {
    expect(LOW_LEVEL).toContain('listDevices');
    const files = readdirSync(fileURLToPath(new URL('.', import.meta.url)), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(files).toContain('onboard-site.ts');
    const lowLevel = files.flatMap((file) =>
      [
        ...readFileSync(example(file), 'utf8').matchAll(
          /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'@meridian\/sdk'/g,
        ),
      ]
        .flatMap((match) => match[1]!.split(',').map((name) => name.trim().replace(/^type\s+/, '')))
        .filter((name) => LOW_LEVEL.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(lowLevel).toEqual([]);
  });

  it('onboard-site.ts creates the site once and registers each machine', async () => {
    const args = [example('onboard-site.ts'), 'Lisbon office', 'kiosk-1:windows', 'kiosk-2:linux'];
    const first = await run(TSX, args, withToken());
    expect(first.stdout).toMatch(/^site Lisbon office \(site_/);
    expect(first.stdout.match(/token mrt_/g)).toHaveLength(2);
    await run(TSX, [example('onboard-site.ts'), 'Lisbon office', 'kiosk-3:macos'], withToken());
    const sites = ok(await listSites({ client: t.admin, query: { q: 'Lisbon office' } })).data;
    expect(sites).toHaveLength(1);
    const devices = ok(await listDevices({ client: t.admin, query: { site_id: sites[0]!.id } })).data;
    expect(devices.map((d) => `${d.name}:${d.platform}`)).toEqual([
      'kiosk-1:windows',
      'kiosk-2:linux',
      'kiosk-3:macos',
    ]);
  });

  it('device-report.ts signs in with a password and counts devices per site and status', async () => {
    const env = {
      ...process.env,
      MERIDIAN_URL: t.url,
      MERIDIAN_USERNAME: ADMIN.username,
      MERIDIAN_PASSWORD: ADMIN.password,
    };
    const { stdout } = await run(TSX, [example('device-report.ts'), '--platform=windows'], { env });
    expect(stdout).toBe('1 device(s)\n  Lisbon office: 1 pending\n');
  });

  it('explains a refused call and exits non-zero', async () => {
    const env = { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: 'mtk_not-a-real-token' };
    await expect(run(TSX, [example('device-report.ts')], { env })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/Listing devices failed: 401 invalid_token/),
    });
  });
});
