/**
 * Runs each example as a user would (a separate process, configured by environment) against a
 * fresh in-memory server, and checks both its output and what it did to the server.
 */
import { execFile } from 'node:child_process';
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

describe('examples', () => {
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
