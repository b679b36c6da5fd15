/**
 * Installers: one version of a piece of software for one platform, created with its download
 * (URL and SHA-256), silent install and uninstall arguments and a detection rule (by default
 * its name and version); listed by name (ignoring case) and platform; one per name, version and
 * platform; deleted. Or created without a URL and their file uploaded (streamed into the blob
 * store, checked against the installer's SHA-256), which agents download from this server with
 * Range and ETag; refused uploads leave nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  createApiToken,
  createInstaller,
  deleteAgentRelease,
  deleteInstaller,
  downloadAgentInstaller,
  getInstaller,
  listInstallers,
  type InstallerCreate,
} from '@meridian/sdk';
import type { FileBlobStore } from '../server-stub/src/lifecycle/blob-store';
import { addAgent } from './support/agents';
import { addInstallerForUpload, sha256, uploadInstaller } from './support/installers';
import { addRelease, uploadBuild } from './support/releases';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

const MAX_BYTES = 64 * 1024;
const t = useTestServer({ artifactMaxBytes: MAX_BYTES });

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
      source: 'url',
      size_bytes: null,
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

/** Every file in the server's blob directory (uploads in progress included). */
async function storedFiles(): Promise<string[]> {
  const { directory } = t.server.context.blobs as FileBlobStore;
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describe('an installer whose file is uploaded', () => {
  it('is created without a url; agents download the uploaded file from its url, whole, in ranges, by ETag', async () => {
    const bytes = randomBytes(40_000);
    const pending = await addInstallerForUpload(t, bytes);
    expect(pending).toMatchObject({
      url: `${t.url}/v1/agent/installers/${pending.id}/artifact`,
      sha256: sha256(bytes),
      source: 'upload',
      size_bytes: null,
    });
    const agent = await addAgent(t, (await addSite(t)).id);
    const download = async (headers: Record<string, string> = {}) => {
      const result = await downloadAgentInstaller({
        client: agent.client,
        path: { installer_id: pending.id },
        headers,
        parseAs: 'arrayBuffer',
      });
      const data = result.data as unknown as ArrayBuffer | undefined;
      return { ...result, bytes: data === undefined ? undefined : Buffer.from(data) };
    };
    expect(expectProblem(await download(), 404, 'artifact_not_stored').detail).toContain('not been uploaded');

    const uploaded = await uploadInstaller(t.admin, pending.id, bytes);
    expect(uploaded.response.status).toBe(200);
    expect(uploaded.data).toEqual({ ...pending, size_bytes: 40_000 });
    expect(ok(await getInstaller({ client: t.admin, path: { installer_id: pending.id } }))).toEqual(
      uploaded.data,
    );
    const whole = await download();
    const etag = `"sha256-${sha256(bytes)}"`;
    expect(whole.response.headers.get('etag')).toBe(etag);
    expect(whole.bytes!.equals(bytes)).toBe(true);
    const part = await download({ Range: 'bytes=1000-1999' });
    expect(part.response.status).toBe(206);
    expect(part.bytes!.equals(bytes.subarray(1000, 2000))).toBe(true);
    expect((await download({ 'If-None-Match': etag })).response.status).toBe(304);
    expectProblem(await download({ Range: 'bytes=40000-' }), 416, 'range_not_satisfiable');

    // Uploading again is allowed (the same file); deleting the installer lets the file go.
    expect((await uploadInstaller(t.admin, pending.id, bytes)).response.status).toBe(200);
    expect(await storedFiles()).toContain(sha256(bytes));
    ok(await deleteInstaller({ client: t.admin, path: { installer_id: pending.id } }));
    expect(await storedFiles()).not.toContain(sha256(bytes));
    expectProblem(await download(), 404, 'not_found');
  });

  it('an installer downloaded from its own url takes no upload (409) and is not served (404)', async () => {
    const installer = ok(await add());
    const bytes = randomBytes(100);
    expectProblem(await uploadInstaller(t.admin, installer.id, bytes), 409, 'installer_not_uploaded');
    expect(await storedFiles()).not.toContain(sha256(bytes));
    const agent = await addAgent(t, (await addSite(t)).id);
    const refused = await downloadAgentInstaller({
      client: agent.client,
      path: { installer_id: installer.id },
    });
    expect(expectProblem(refused, 404, 'artifact_not_stored').detail).toContain(installer.url);
  });

  it('keeps a file an agent release also holds until neither uses it (one blob store)', async () => {
    const bytes = randomBytes(2000);
    const pending = await addInstallerForUpload(t, bytes);
    ok(await uploadInstaller(t.admin, pending.id, bytes));
    const release = await addRelease(t);
    ok(await uploadBuild(t.admin, release.id, bytes));
    ok(await deleteAgentRelease({ client: t.admin, path: { release_id: release.id } }));
    expect(await storedFiles()).toContain(sha256(bytes));
    const again = await addRelease(t);
    ok(await uploadBuild(t.admin, again.id, bytes));
    ok(await deleteInstaller({ client: t.admin, path: { installer_id: pending.id } }));
    expect(await storedFiles()).toContain(sha256(bytes));
    ok(await deleteAgentRelease({ client: t.admin, path: { release_id: again.id } }));
    expect(await storedFiles()).not.toContain(sha256(bytes));
  });

  describe('refused uploads leave nothing behind', () => {
    async function expectNothingStored(installerId: string, bytes: Uint8Array) {
      expect(await storedFiles()).not.toContain(sha256(bytes));
      expect(await readdir(`${(t.server.context.blobs as FileBlobStore).directory}/incoming`)).toEqual([]);
      expect(
        ok(await getInstaller({ client: t.admin, path: { installer_id: installerId } })).size_bytes,
      ).toBe(null);
    }

    it('a file that is not the one the installer names: 422 sha256_mismatch', async () => {
      const pending = await addInstallerForUpload(t, randomBytes(10));
      const other = randomBytes(5000);
      const problem = expectProblem(
        await uploadInstaller(t.admin, pending.id, other),
        422,
        'sha256_mismatch',
      );
      expect(problem.detail).toContain(sha256(other));
      await expectNothingStored(pending.id, other);
    });

    it(`a file over MERIDIAN_ARTIFACT_MAX_BYTES (${MAX_BYTES} here): 413`, async () => {
      const bytes = randomBytes(MAX_BYTES + 1);
      const pending = await addInstallerForUpload(t, bytes);
      expectProblem(await uploadInstaller(t.admin, pending.id, bytes), 413, 'payload_too_large');
      await expectNothingStored(pending.id, bytes);
    });

    it('an empty file: 422 empty_upload', async () => {
      const empty = new Uint8Array();
      const pending = await addInstallerForUpload(t, empty);
      expectProblem(await uploadInstaller(t.admin, pending.id, empty), 422, 'empty_upload');
      await expectNothingStored(pending.id, empty);
    });

    it('a file for an installer that does not exist: 404', async () => {
      const bytes = randomBytes(100);
      expectProblem(await uploadInstaller(t.admin, `ins_${'0'.repeat(26)}`, bytes), 404, 'not_found');
      expect(await storedFiles()).not.toContain(sha256(bytes));
    });

    it('a file from someone without software:write: 403', async () => {
      const bytes = randomBytes(100);
      const pending = await addInstallerForUpload(t, bytes);
      const token = ok(
        await createApiToken({
          client: t.admin,
          body: { name: unique('reader'), scopes: ['software:read'] },
        }),
      ).token;
      expectProblem(await uploadInstaller(t.client(token), pending.id, bytes), 403, 'insufficient_scope');
      await expectNothingStored(pending.id, bytes);
    });
  });
});
