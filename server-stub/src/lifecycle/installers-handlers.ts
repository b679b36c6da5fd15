/**
 * Installers: one version of a piece of software for one platform, as agents install it (its
 * download and SHA-256, silent install and uninstall arguments, how it shows in the inventory).
 * The file is downloaded from the installer's own URL, or uploaded to Meridian (streamed into the
 * blob store, checked against the installer's SHA-256) and downloaded by agents from this server.
 */
import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract, type Installer } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { ApiError, problems } from '../http/problem';
import { serverUrlOf } from '../http/server-url';
import { whereEqual } from '../store/filters';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type { InstallersTable } from '../store/schema';
import { releaseBlobIfUnused } from './agent-releases-store';
import { receiveBlob, sendBlob } from './blob-http';

const s = initServer();

export const toInstaller = (row: InstallersTable): z.infer<typeof Installer> => ({
  id: row.id,
  name: row.name,
  version: row.version,
  platform: row.platform,
  url: row.url,
  sha256: row.sha256,
  source: row.source,
  size_bytes: row.size_bytes === null ? null : Number(row.size_bytes),
  install_arguments: JSON.parse(row.install_arguments) as string[],
  uninstall_arguments: JSON.parse(row.uninstall_arguments) as string[],
  detection: JSON.parse(row.detection) as z.infer<typeof Installer>['detection'],
  created_by: row.created_by,
  created_at: row.created_at,
});

export function findInstaller(context: AppContext, id: string): Promise<InstallersTable> {
  return oneOrNotFound(context.db.selectFrom('installers').selectAll().where('id', '=', id), 'installer', id);
}

export function installersHandlers(context: AppContext) {
  const { db } = context;
  return s.router(contract.installers, {
    listInstallers: async ({ query }) => ({
      status: 200,
      body: await paginate(
        query,
        whereEqual(db.selectFrom('installers').selectAll(), {
          name_key: query.name?.toLowerCase(),
          platform: query.platform,
        }),
        toInstaller,
      ),
    }),

    createInstaller: async ({ body, req }) => {
      const id = newId('ins');
      const row: InstallersTable = {
        id,
        name: body.name,
        name_key: body.name.toLowerCase(),
        version: body.version,
        platform: body.platform,
        // Without a URL of its own, the file is uploaded next and agents fetch it from here.
        url: body.url ?? serverUrlOf(context, req, `/v1/agent/installers/${id}/artifact`).href,
        sha256: body.sha256.toLowerCase(),
        source: body.url === undefined ? 'upload' : 'url',
        size_bytes: null,
        install_arguments: JSON.stringify(body.install_arguments ?? []),
        uninstall_arguments: JSON.stringify(body.uninstall_arguments ?? []),
        detection: JSON.stringify(body.detection ?? { name: body.name, version: body.version }),
        created_by: principalOf(req).user.id,
        created_at: nowIso(context),
      };
      const inserted = await db
        .insertInto('installers')
        .values(row)
        .onConflict((conflict) => conflict.columns(['name_key', 'version', 'platform']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted)
        throw problems.conflict(
          'installer_exists',
          `There is already an installer of ${body.name} ${body.version} for ${body.platform}.`,
        );
      return { status: 201, body: toInstaller(row) };
    },

    getInstaller: async ({ params }) => ({
      status: 200,
      body: toInstaller(await findInstaller(context, params.installer_id)),
    }),

    deleteInstaller: async ({ params }) => {
      const installer = await findInstaller(context, params.installer_id);
      await db.deleteFrom('installers').where('id', '=', params.installer_id).execute();
      if (installer.size_bytes !== null) await releaseBlobIfUnused(context, installer.sha256);
      return { status: 204, body: undefined };
    },

    uploadInstallerArtifact: async ({ params, req }) => {
      // Before the body is read: an unknown installer, or one with a URL of its own, stores nothing.
      const installer = await findInstaller(context, params.installer_id);
      if (installer.source !== 'upload')
        throw problems.conflict(
          'installer_not_uploaded',
          `Installer ${installer.id} is downloaded from ${installer.url}: it takes no upload.`,
        );
      const blob = await receiveBlob(context, req, installer.sha256);
      const updated = await db
        .updateTable('installers')
        .set({ size_bytes: blob.size })
        .where('id', '=', installer.id)
        .returningAll()
        .executeTakeFirst();
      if (!updated) {
        // The installer went away meanwhile: the file just stored is nobody's.
        await releaseBlobIfUnused(context, blob.sha256);
        throw problems.notFound('installer', installer.id);
      }
      return { status: 200, body: toInstaller(updated) };
    },
  });
}

/** The file name an uploaded installer is downloaded under: its name, version and platform. */
const fileNameOf = (row: InstallersTable): string =>
  `${row.name}-${row.version}-${row.platform}`.replace(/[^A-Za-z0-9._-]+/g, '-');

export function agentInstallerRoutes(context: AppContext) {
  return {
    downloadAgentInstaller: s.route(contract.agent.downloadAgentInstaller, async ({ params, req, res }) => {
      const installer = await findInstaller(context, params.installer_id);
      if (installer.size_bytes === null)
        throw new ApiError(
          404,
          'artifact_not_stored',
          'Not found',
          installer.source === 'url'
            ? `Installer ${installer.id} is not stored by Meridian: download it from ${installer.url}.`
            : `The file of installer ${installer.id} has not been uploaded yet.`,
        );
      return sendBlob(context.blobs, req, res, {
        sha256: installer.sha256,
        size: Number(installer.size_bytes),
        fileName: fileNameOf(installer),
      });
    }),
  };
}
