import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { forgetAgentCredentials } from '../agent/credentials';
import { type HandlerArgs, type RouteArgs, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf, type Principal } from '../http/principal';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { DeviceRow } from '../store/schema';
import { deviceSort, listFilterConditions } from './device-filters-store';
import {
  deviceTextCondition,
  findVisibleDevice,
  presentDevice,
  presentDevices,
  selectDevices,
} from './devices-store';
import {
  deviceCredentialRoutes,
  newRegistrationToken,
  revokeCredentialsOf,
} from './device-credentials-handlers';
import { deviceInsightRoutes } from './device-insights-handlers';
import { assertDeviceType, DEFAULT_DEVICE_TYPE } from './device-type-catalogue';
import { deviceScreenshotRoutes } from './screenshots-handlers';
import { assertUsableSite } from './sites-store';

export function devicesHandlers(context: AppContext) {
  const { db } = context;
  const findDevice = (principal: Principal, id: string) => findVisibleDevice(context, principal, id);

  const device = versionedRoutes(context, {
    table: 'devices',
    read: ({ params, req }: RouteArgs<{ device_id: string }>) =>
      findDevice(principalOf(req), params.device_id),
    present: (row: DeviceRow) => presentDevice(context, row),
  });

  return initServer().router(contract.devices, {
    ...deviceInsightRoutes(context),
    ...deviceScreenshotRoutes(context),
    ...deviceCredentialRoutes(context),

    listDevices: async ({ query, req }) => {
      const conditions = [
        ...(await listFilterConditions(context, query)),
        ...(query.q === undefined ? [] : [await deviceTextCondition(context, query.q)]),
      ];
      const page = await paginate(
        query,
        conditions.reduce(
          (select, condition) => select.where(condition),
          whereEqual(selectDevices(context, principalOf(req)), {
            site_id: query.site_id,
            status: query.status,
            platform: query.platform,
            device_type: query.device_type,
            agent_version: query.agent_version,
          }),
        ),
        (row) => row,
        'id',
        query.sort === undefined ? 'asc' : deviceSort(query.sort),
      );
      return { status: 200, body: { ...page, data: await presentDevices(context, page.data) } };
    },

    registerDevice: async ({ body, req }) => {
      await assertUsableSite(context, principalOf(req), body.site_id);
      assertDeviceType(body.device_type);
      const now = context.now();
      // The same instant as created_at: the token is good for exactly 7 days from the registration.
      const registration = newRegistrationToken(now);
      const row: DeviceRow = {
        id: newId('dev'),
        site_id: body.site_id,
        name: body.name,
        description: body.description ?? '',
        platform: body.platform,
        device_type: body.device_type ?? DEFAULT_DEVICE_TYPE,
        status: 'pending',
        hostname: null,
        tags: JSON.stringify(body.tags ?? []),
        agent_version: null,
        last_seen_at: null,
        registration_token_hash: registration.hash,
        registration_expires_at: registration.expiresAt,
        fingerprint: null,
        os_name: null,
        os_version: null,
        timezone: null,
        addresses: '[]',
        uptime_seconds: null,
        metrics: null,
        enrolled_at: null,
        credentials_revoked_at: null,
        channel: null,
        version: 1,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      const { version: _version, ...insertable } = row;
      await db.insertInto('devices').values(insertable).execute();
      return {
        status: 201,
        body: {
          device: await presentDevice(context, row),
          registration_token: registration.token,
          registration_expires_at: row.registration_expires_at!,
        },
      };
    },

    getDevice: device.get,

    updateDevice: device.update(
      async ({ body, req }: HandlerArgs<typeof contract.devices.updateDevice>) => {
        if (body.site_id !== undefined) await assertUsableSite(context, principalOf(req), body.site_id);
        assertDeviceType(body.device_type);
        const { tags, ...fields } = body;
        return { ...fields, ...(tags === undefined ? {} : { tags: JSON.stringify(tags) }) };
      },
      // The agent's verified tokens name the device's site.
      async (_trx, { body }) => {
        if (body.site_id !== undefined) forgetAgentCredentials(context);
      },
    ),

    deleteDevice: async ({ params, req }) => {
      const device = await findDevice(principalOf(req), params.device_id);
      // Deleting the row also deletes the registration token's hash: the agent can no longer use
      // it. The agent's token rows stay, so its next call is told `device_deleted`.
      await db.deleteFrom('devices').where('id', '=', device.id).execute();
      forgetAgentCredentials(context);
      return { status: 204, body: undefined };
    },

    revokeDeviceCredentials: async ({ params, req }) => {
      const device = await findDevice(principalOf(req), params.device_id);
      await revokeCredentialsOf(context, [device], principalOf(req));
      return {
        status: 200,
        body: await presentDevice(context, await findDevice(principalOf(req), device.id)),
      };
    },
  });
}
