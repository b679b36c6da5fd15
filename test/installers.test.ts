/**
 * Installers: one version of a piece of software for one platform, created with its download
 * (URL and SHA-256), silent install and uninstall arguments and a detection rule (by default
 * its name and version); listed by name (ignoring case) and platform; one per name, version and
 * platform; deleted.
 */
import { describe, expect, it } from 'vitest';
import {
  createInstaller,
  deleteInstaller,
  getInstaller,
  listInstallers,
  type InstallerCreate,
} from '@meridian/sdk';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { unique } from './support/world';

const t = useTestServer();

const SHA = 'b'.repeat(64);
const add = (body: Partial<InstallerCreate> = {}) =>
  createInstaller({
    client: t.admin,
    body: {
      name: unique('Signage player'),
      version: '4.2.0',
      platform: 'linux',
      url: 'https://downloads.example.com/signage-player-4.2.0.sh',
      sha256: SHA,
      ...body,
    },
  });

describe('installers', () => {
  it('are created with their download, silent arguments and detection rule, read and listed', async () => {
    const name = unique('TouchDesigner');
    const created = await add({
      name,
      version: '2023.11880',
      platform: 'windows',
      url: 'https://downloads.example.com/TouchDesigner.2023.11880.exe',
      install_arguments: ['/VERYSILENT', '/NORESTART'],
      uninstall_arguments: ['/VERYSILENT'],
      detection: { name: 'TouchDesigner 099' },
    });
    expect(created.response.status).toBe(201);
    expect(created.data).toEqual({
      id: expect.stringMatching(/^ins_/),
      name,
      version: '2023.11880',
      platform: 'windows',
      url: 'https://downloads.example.com/TouchDesigner.2023.11880.exe',
      sha256: SHA,
      install_arguments: ['/VERYSILENT', '/NORESTART'],
      uninstall_arguments: ['/VERYSILENT'],
      detection: { name: 'TouchDesigner 099' },
      created_by: expect.stringMatching(/^usr_/),
      created_at: expect.any(String),
    });
    expect(ok(await getInstaller({ client: t.admin, path: { installer_id: created.data!.id } }))).toEqual(
      created.data,
    );

    const linux = ok(await add({ name, version: '2023.11880', platform: 'linux' }));
    expect(linux).toMatchObject({
      install_arguments: [],
      uninstall_arguments: [],
      detection: { name, version: '2023.11880' },
    });
    const byName = ok(await listInstallers({ client: t.admin, query: { name: name.toUpperCase() } }));
    expect(byName.data.map((installer) => installer.id)).toEqual([created.data!.id, linux.id]);
    const onLinux = ok(await listInstallers({ client: t.admin, query: { name, platform: 'linux' } }));
    expect(onLinux.data.map((installer) => installer.id)).toEqual([linux.id]);
  });

  it('are one per name (ignoring case), version and platform: 409 installer_exists', async () => {
    const name = unique('Kiosk browser');
    ok(await add({ name }));
    expectProblem(await add({ name: name.toUpperCase() }), 409, 'installer_exists');
    expect((await add({ name, version: '4.3.0' })).response.status).toBe(201);
  });

  it('are deleted (then 404)', async () => {
    const installer = ok(await add());
    const deleted = await deleteInstaller({ client: t.admin, path: { installer_id: installer.id } });
    expect(deleted.response.status).toBe(204);
    expectProblem(
      await getInstaller({ client: t.admin, path: { installer_id: installer.id } }),
      404,
      'not_found',
    );
    expectProblem(
      await deleteInstaller({ client: t.admin, path: { installer_id: installer.id } }),
      404,
      'not_found',
    );
  });

  it('refuses a download that is not http or https (400, naming url)', async () => {
    const refused = await add({ url: 'file:///etc/passwd' });
    expect(refused.response.status).toBe(400);
    expect((refused.error as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(
      '/body/url',
    );
  });
});
