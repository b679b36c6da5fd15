/**
 * Software on devices (issue 13 §3): each device's installed software from its inventory,
 * uninstalling an entry (an `uninstall_software` command, with the installer that detects it
 * when there is one), the block list of software that must not be uninstalled, and each
 * device's overrides (exempt from an entry, or blocking more of its own).
 */
import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { findCommandType } from '../fleet/device-type-catalogue';
import { findVisibleDevice, toInventory } from '../fleet/devices-store';
import {
  contract,
  type InstalledSoftware,
  type SoftwareBlockEntry,
  type SoftwareBlockOverride,
} from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { answerCommand, sendCommand } from '../operations/commands-store';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type { DeviceRow, SoftwareBlockEntriesTable, SoftwareBlockOverridesTable } from '../store/schema';
import { toInstaller } from './installers-handlers';
import { blockedMessage, blockOf, blockRulesOf, softwareId } from './software-block-list';

const UNINSTALL = 'uninstall_software';

const toEntry = (row: SoftwareBlockEntriesTable): z.infer<typeof SoftwareBlockEntry> => ({ ...row });
const toOverride = (row: SoftwareBlockOverridesTable): z.infer<typeof SoftwareBlockOverride> => ({ ...row });

export function softwareHandlers(context: AppContext) {
  const { db } = context;

  const findEntry = (id: string) =>
    oneOrNotFound(
      db.selectFrom('software_block_entries').selectAll().where('id', '=', id),
      'software block list entry',
      id,
    );

  /** The device's installed software as its last inventory lists it (none before its first). */
  async function softwareOf(device: DeviceRow) {
    const row = await db
      .selectFrom('device_inventories')
      .selectAll()
      .where('device_id', '=', device.id)
      .executeTakeFirst();
    return { reportedAt: row?.reported_at ?? null, software: row ? toInventory(row).software : [] };
  }

  /** The installer for the device's platform that detects `software`, one naming its version first. */
  async function installerDetecting(device: DeviceRow, software: z.infer<typeof InstalledSoftware>) {
    const candidates = (
      await db.selectFrom('installers').selectAll().where('platform', '=', device.platform).execute()
    )
      .map(toInstaller)
      .filter(
        ({ detection }) =>
          detection.name.toLowerCase() === software.name.toLowerCase() &&
          (detection.version === undefined || detection.version === software.version),
      );
    return candidates.find(({ detection }) => detection.version !== undefined) ?? candidates[0];
  }

  return initServer().router(contract.software, {
    listSoftwareBlockEntries: async ({ query }) => ({
      status: 200,
      body: await paginate(query, db.selectFrom('software_block_entries').selectAll(), toEntry),
    }),

    createSoftwareBlockEntry: async ({ body, req }) => {
      const now = nowIso(context);
      const row: SoftwareBlockEntriesTable = {
        id: newId('sbe'),
        name_pattern: body.name_pattern,
        publisher: body.publisher ?? null,
        version: body.version ?? null,
        reason: body.reason,
        created_by: principalOf(req).user.id,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('software_block_entries').values(row).execute();
      return { status: 201, body: toEntry(row) };
    },

    getSoftwareBlockEntry: async ({ params }) => ({
      status: 200,
      body: toEntry(await findEntry(params.block_entry_id)),
    }),

    updateSoftwareBlockEntry: async ({ params, body }) => {
      const updated = await db
        .updateTable('software_block_entries')
        .set({ ...body, updated_at: nowIso(context) })
        .where('id', '=', params.block_entry_id)
        .returningAll()
        .executeTakeFirst();
      if (!updated) throw problems.notFound('software block list entry', params.block_entry_id);
      return { status: 200, body: toEntry(updated) };
    },

    deleteSoftwareBlockEntry: async ({ params }) => {
      const deleted = await db
        .deleteFrom('software_block_entries')
        .where('id', '=', params.block_entry_id)
        .executeTakeFirst();
      if (deleted.numDeletedRows === 0n)
        throw problems.notFound('software block list entry', params.block_entry_id);
      return { status: 204, body: undefined };
    },

    listDeviceSoftware: async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const [{ reportedAt, software }, rules] = await Promise.all([
        softwareOf(device),
        blockRulesOf(context, device.id),
      ]);
      return {
        status: 200,
        body: {
          device_id: device.id,
          reported_at: reportedAt,
          software: software.map((entry) => ({
            id: softwareId(entry),
            ...entry,
            uninstall_block: blockOf(rules, entry),
          })),
        },
      };
    },

    uninstallDeviceSoftware: async ({ params, query, req }) => {
      const principal = principalOf(req);
      const device = await findVisibleDevice(context, principal, params.device_id);
      const commandType = findCommandType(device.device_type, UNINSTALL);
      if (!commandType)
        throw problems.conflict(
          'software_uninstall_unsupported',
          `Devices of type ${device.device_type} have no ${UNINSTALL} command.`,
        );
      const software = (await softwareOf(device)).software.find(
        (entry) => softwareId(entry) === params.software_id,
      );
      if (!software)
        throw problems.notFound(`installed software on device ${device.id} with the ID`, params.software_id);
      const block = blockOf(await blockRulesOf(context, device.id), software);
      if (block) throw problems.conflict('software_uninstall_blocked', blockedMessage(software, block));
      const installer = await installerDetecting(device, software);
      const params_ = {
        name: software.name,
        ...(software.version ? { version: software.version } : {}),
        ...(software.publisher ? { publisher: software.publisher } : {}),
        ...(installer
          ? {
              installer_id: installer.id,
              url: installer.url,
              sha256: installer.sha256,
              arguments: installer.uninstall_arguments,
            }
          : {}),
      };
      return answerCommand(
        await sendCommand(
          context,
          device,
          {
            type: UNINSTALL,
            params: params_,
            timeoutSeconds: commandType.default_timeout_seconds,
            createdBy: principal.user.id,
          },
          query.wait_seconds,
        ),
      );
    },

    listSoftwareBlockOverrides: async ({ params, query, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      return {
        status: 200,
        body: await paginate(
          query,
          db.selectFrom('software_block_overrides').selectAll().where('device_id', '=', device.id),
          toOverride,
        ),
      };
    },

    createSoftwareBlockOverride: async ({ params, body, req }) => {
      const principal = principalOf(req);
      const device = await findVisibleDevice(context, principal, params.device_id);
      const invalid = (detail: string) => problems.unprocessable('invalid_block_override', detail);
      const missingEntry = () => invalid(`There is no block list entry ${body.block_entry_id}.`);
      const entryExists = async () =>
        body.block_entry_id !== undefined &&
        (await db
          .selectFrom('software_block_entries')
          .select('id')
          .where('id', '=', body.block_entry_id)
          .executeTakeFirst()) !== undefined;
      if (body.effect === 'exempt') {
        if (body.block_entry_id === undefined)
          throw invalid(
            'An exempt override names the block list entry it exempts the device from (block_entry_id).',
          );
        if (body.name_pattern ?? body.publisher ?? body.version)
          throw invalid(
            'An exempt override takes no name_pattern, publisher or version: the entry has them.',
          );
        if (!(await entryExists())) throw missingEntry();
      } else {
        if (body.name_pattern === undefined)
          throw invalid('A block override names the software it blocks (name_pattern).');
        if (body.block_entry_id !== undefined)
          throw invalid('A block override takes no block_entry_id: it blocks software of its own.');
      }
      const row: SoftwareBlockOverridesTable = {
        id: newId('sbo'),
        device_id: device.id,
        effect: body.effect,
        block_entry_id: body.block_entry_id ?? null,
        name_pattern: body.name_pattern ?? null,
        publisher: body.publisher ?? null,
        version: body.version ?? null,
        reason: body.reason,
        created_by: principal.user.id,
        created_at: nowIso(context),
      };
      try {
        await db.insertInto('software_block_overrides').values(row).execute();
      } catch (error) {
        // The entry was deleted since it was read (its foreign key refuses the row).
        if (body.effect === 'exempt' && !(await entryExists())) throw missingEntry();
        throw error;
      }
      return { status: 201, body: toOverride(row) };
    },

    deleteSoftwareBlockOverride: async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const deleted = await db
        .deleteFrom('software_block_overrides')
        .where('id', '=', params.override_id)
        .where('device_id', '=', device.id)
        .executeTakeFirst();
      if (deleted.numDeletedRows === 0n)
        throw problems.notFound('software block override', params.override_id);
      return { status: 204, body: undefined };
    },
  });
}
