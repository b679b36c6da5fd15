import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type Device } from '../generated/contract';
import { hashSecret, newSecret } from '../auth/secrets';
import { checkIfMatch, setEtag } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import type { DeviceRow } from '../store/schema';
import { containsText } from '../store/search';
import { assertUsableSite } from './sites-store';

const REGISTRATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

function toDevice(row: DeviceRow): z.infer<typeof Device> {
  return {
    id: row.id, name: row.name, description: row.description, site_id: row.site_id, platform: row.platform, status: row.status,
    hostname: row.hostname, tags: JSON.parse(row.tags) as string[], agent_version: row.agent_version,
    last_seen_at: row.last_seen_at, created_at: row.created_at, updated_at: row.updated_at,
  };
}

export function devicesHandlers(context: AppContext) {
  const { db } = context;

  /** Devices on the principal's sites only. */
  const selectDevices = (principal: Principal) =>
    db.selectFrom('devices').selectAll()
      .$if(principal.siteIds !== null, (qb) => qb.where('site_id', 'in', principal.siteIds!.length > 0 ? [...principal.siteIds!] : ['']));

  async function findVisibleDevice(principal: Principal, id: string): Promise<DeviceRow> {
    const row = await selectDevices(principal).where('id', '=', id).executeTakeFirst();
    if (!row) throw problems.notFound('device', id);
    return row;
  }

  return initServer().router(contract.devices, {
    listDevices: async ({ query, req }) => {
      const body = await paginate(
        query,
        ({ afterId, take }) =>
          selectDevices(principalOf(req))
            .$if(afterId !== undefined, (qb) => qb.where('id', '>', afterId!))
            .$if(query.site_id !== undefined, (qb) => qb.where('site_id', '=', query.site_id!))
            .$if(query.status !== undefined, (qb) => qb.where('status', '=', query.status!))
            .$if(query.platform !== undefined, (qb) => qb.where('platform', '=', query.platform!))
            .$if(query.q !== undefined, (qb) => qb.where((eb) => eb.or([containsText('name', query.q!), containsText('hostname', query.q!)])))
            .orderBy('id').limit(take).execute(),
        toDevice,
      );
      return { status: 200, body };
    },

    registerDevice: async ({ body, req }) => {
      await assertUsableSite(context, principalOf(req), body.site_id);
      const now = context.now();
      const registrationToken = newSecret('mrt');
      const row: DeviceRow = {
        id: newId('dev'), site_id: body.site_id, name: body.name, description: body.description ?? '', platform: body.platform,
        status: 'pending', hostname: null, tags: JSON.stringify(body.tags ?? []), agent_version: null, last_seen_at: null,
        registration_token_hash: hashSecret(registrationToken),
        registration_expires_at: new Date(now.getTime() + REGISTRATION_TTL_MS).toISOString(),
        version: 1, created_at: now.toISOString(), updated_at: now.toISOString(),
      };
      const { version: _version, ...insertable } = row;
      await db.insertInto('devices').values(insertable).execute();
      return {
        status: 201,
        body: { device: toDevice(row), registration_token: registrationToken, registration_expires_at: row.registration_expires_at! },
      };
    },

    getDevice: async ({ params, req, res }) => {
      const row = await findVisibleDevice(principalOf(req), params.device_id);
      setEtag(res, row.version);
      return { status: 200, body: toDevice(row) };
    },

    updateDevice: async ({ params, body, headers, req, res }) => {
      const principal = principalOf(req);
      const current = await findVisibleDevice(principal, params.device_id);
      checkIfMatch(headers['if-match'], current.version);
      if (body.site_id !== undefined) await assertUsableSite(context, principal, body.site_id);
      const { tags, ...fields } = body;
      const result = await db.updateTable('devices')
        .set((eb) => ({
          ...fields,
          ...(tags === undefined ? {} : { tags: JSON.stringify(tags) }),
          version: eb('version', '+', 1),
          updated_at: context.now().toISOString(),
        }))
        .where('id', '=', current.id).where('version', '=', current.version)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw problems.preconditionFailed(headers['if-match'] ?? '(none)', 'a newer version');
      const updated = await db.selectFrom('devices').selectAll().where('id', '=', current.id).executeTakeFirstOrThrow();
      setEtag(res, updated.version);
      return { status: 200, body: toDevice(updated) };
    },

    deleteDevice: async ({ params, req }) => {
      const device = await findVisibleDevice(principalOf(req), params.device_id);
      // Deleting the row also deletes the registration token's hash: the agent can no longer use it.
      await db.deleteFrom('devices').where('id', '=', device.id).execute();
      return { status: 204, body: undefined };
    },
  });
}
