/**
 * Installers: one version of a piece of software for one platform, as agents install it (its
 * download and SHA-256, silent install and uninstall arguments, how it shows in the inventory).
 */
import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract, type Installer } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type { InstallersTable } from '../store/schema';

export const toInstaller = (row: InstallersTable): z.infer<typeof Installer> => ({
  id: row.id,
  name: row.name,
  version: row.version,
  platform: row.platform,
  url: row.url,
  sha256: row.sha256,
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
  return initServer().router(contract.installers, {
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
      const row: InstallersTable = {
        id: newId('ins'),
        name: body.name,
        name_key: body.name.toLowerCase(),
        version: body.version,
        platform: body.platform,
        url: body.url,
        sha256: body.sha256,
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
      await findInstaller(context, params.installer_id);
      await db.deleteFrom('installers').where('id', '=', params.installer_id).execute();
      return { status: 204, body: undefined };
    },
  });
}
