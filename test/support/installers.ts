/** Installers whose file is uploaded to Meridian, for tests (test/installers.test.ts, the world). */
import { createHash, randomBytes } from 'node:crypto';
import { type Client, createInstaller, type Installer, uploadInstallerArtifact } from '@meridian/sdk';
import { ok, type TestServer } from './server';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Uploads `bytes` as an installer's file: the SDK sends a Blob as it is (bodySerializer null). */
export function uploadInstaller(client: Client, installerId: string, bytes: Uint8Array) {
  return uploadInstallerArtifact({
    client,
    path: { installer_id: installerId },
    body: new Blob([bytes as Uint8Array<ArrayBuffer>]) as never,
    bodySerializer: null,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

/** An installer created without a URL, for `bytes` (its SHA-256), not uploaded yet. */
export async function addInstallerForUpload(
  t: Pick<TestServer, 'admin'>,
  bytes: Uint8Array,
): Promise<Installer> {
  return ok(
    await createInstaller({
      client: t.admin,
      body: {
        name: `Kiosk shell ${randomBytes(6).toString('hex')}`,
        version: '4.2.0',
        platform: 'linux',
        sha256: sha256(bytes),
      },
    }),
  );
}

/** An installer whose small shell script is uploaded: the installer and its bytes. */
export async function addUploadedInstaller(
  t: Pick<TestServer, 'admin'>,
): Promise<{ installer: Installer; bytes: Buffer }> {
  const bytes = Buffer.concat([Buffer.from('#!/bin/sh\n# '), Buffer.from(randomBytes(32).toString('hex'))]);
  const pending = await addInstallerForUpload(t, bytes);
  return { installer: ok(await uploadInstaller(t.admin, pending.id, bytes)), bytes };
}
