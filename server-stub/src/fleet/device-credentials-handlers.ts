/**
 * Operators' view of the agents' credentials (agent/credentials.ts issues and checks them): list a
 * device's tokens without their secrets, revoke one, revoke every token of a device or of a whole
 * site, and give a pre-registered device a new registration token. A revoked access token is
 * refused at once on this instance (the verified-token cache forgets it after the change commits).
 */
import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type DeviceCredential } from '../generated/contract.gen';
import { hashSecret, newSecret } from '../auth/secrets';
import { forgetAgentCredentials } from '../agent/credentials';
import { paginate } from '../http/pagination';
import { principalOf, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { announceEvents, insertEvent } from '../observe/events-store';
import { oneOrNotFound } from '../store/found';
import type { AgentTokenRow, DeviceRow } from '../store/schema';
import { findVisibleDevice } from './devices-store';
import { findVisibleSite } from './sites-store';

const s = initServer();

/** How long a registration token is good for, from `POST /v1/devices` or a new one. */
export const REGISTRATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A new registration token for a device: the secret, its hash and when it expires. */
/** A one-time registration token issued at `now`, good for 7 days from then. */
export function newRegistrationToken(now: Date) {
  const token = newSecret('mrt');
  return {
    token,
    hash: hashSecret(token),
    expiresAt: new Date(now.getTime() + REGISTRATION_TTL_MS).toISOString(),
  };
}

function presentCredential(context: AppContext, row: AgentTokenRow): z.infer<typeof DeviceCredential> {
  const state = row.revoked_at
    ? 'revoked'
    : row.kind === 'refresh' && row.used_at
      ? 'used'
      : row.expires_at <= context.now().toISOString()
        ? 'expired'
        : 'active';
  return {
    id: row.id,
    device_id: row.device_id,
    kind: row.kind,
    state,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.kind === 'refresh' ? row.used_at : row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

/**
 * Revokes every live token of the devices, marks each device `credentials_revoked_at` and records
 * a `device.credentials_revoked` event for each, in one transaction; then forgets their verified
 * tokens. Returns how many tokens were revoked.
 */
export async function revokeCredentialsOf(
  context: AppContext,
  devices: readonly Pick<DeviceRow, 'id' | 'name' | 'site_id'>[],
  by: Principal,
): Promise<number> {
  if (devices.length === 0) return 0;
  const now = context.now().toISOString();
  const ids = devices.map((device) => device.id);
  const revoked = await context.db.transaction().execute(async (trx) => {
    const live = await trx
      .selectFrom('agent_tokens')
      .select(['device_id', (eb) => eb.fn.countAll<number | string>().as('tokens')])
      .where('device_id', 'in', ids)
      .where('revoked_at', 'is', null)
      .groupBy('device_id')
      .execute();
    const perDevice = new Map(live.map((row) => [row.device_id, Number(row.tokens)]));
    await trx
      .updateTable('agent_tokens')
      .set({ revoked_at: now })
      .where('device_id', 'in', ids)
      .where('revoked_at', 'is', null)
      .execute();
    await trx.updateTable('devices').set({ credentials_revoked_at: now }).where('id', 'in', ids).execute();
    for (const device of devices)
      await insertEvent(trx, context, {
        type: 'device.credentials_revoked',
        severity: 'warning',
        siteId: device.site_id,
        deviceId: device.id,
        message: `The credentials of ${device.name} were revoked by ${by.user.username}.`,
        data: { revoked_tokens: perDevice.get(device.id) ?? 0, revoked_by: by.user.id },
      });
    return [...perDevice.values()].reduce((sum, count) => sum + count, 0);
  });
  forgetAgentCredentials(context);
  announceEvents(context);
  return revoked;
}

export function deviceCredentialRoutes(context: AppContext) {
  const { db } = context;
  return {
    listDeviceCredentials: s.route(contract.devices.listDeviceCredentials, async ({ params, query, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const page = await paginate(
        query,
        db.selectFrom('agent_tokens').selectAll().where('device_id', '=', device.id),
        (row) => presentCredential(context, row),
        'id',
        'desc',
      );
      return { status: 200, body: page };
    }),

    revokeDeviceCredential: s.route(contract.devices.revokeDeviceCredential, async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const token = await oneOrNotFound(
        db
          .selectFrom('agent_tokens')
          .selectAll()
          .where('id', '=', params.credential_id)
          .where('device_id', '=', device.id),
        'credential',
        params.credential_id,
      );
      const now = context.now().toISOString();
      const revoked = await db
        .updateTable('agent_tokens')
        .set({ revoked_at: now })
        .where('id', '=', token.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(revoked.numUpdatedRows) === 0)
        throw problems.conflict('credential_already_revoked', `Token ${token.id} is already revoked.`);
      forgetAgentCredentials(context);
      return { status: 200, body: presentCredential(context, { ...token, revoked_at: now }) };
    }),

    revokeSiteDeviceCredentials: s.route(
      contract.devices.revokeSiteDeviceCredentials,
      async ({ params, req }) => {
        const principal = principalOf(req);
        const site = await findVisibleSite(context, principal, params.site_id);
        const devices = await db
          .selectFrom('devices')
          .select(['id', 'name', 'site_id'])
          .where('site_id', '=', site.id)
          .execute();
        const revoked = await revokeCredentialsOf(context, devices, principal);
        return { status: 200, body: { site_id: site.id, devices: devices.length, revoked_tokens: revoked } };
      },
    ),

    issueDeviceRegistrationToken: s.route(
      contract.devices.issueDeviceRegistrationToken,
      async ({ params, req }) => {
        const device = await findVisibleDevice(context, principalOf(req), params.device_id);
        const registration = newRegistrationToken(context.now());
        // Only while no agent has enrolled as the device: the claim and the check are one write.
        const issued = await db
          .updateTable('devices')
          .set({
            registration_token_hash: registration.hash,
            registration_expires_at: registration.expiresAt,
          })
          .where('id', '=', device.id)
          .where('fingerprint', 'is', null)
          .executeTakeFirst();
        if (Number(issued.numUpdatedRows) === 0)
          throw problems.conflict(
            'device_already_enrolled',
            `An agent already enrolled as ${device.name}; to bring its machine back, enrol it again with an enrolment code.`,
          );
        return {
          status: 200,
          body: {
            device_id: device.id,
            registration_token: registration.token,
            registration_expires_at: registration.expiresAt,
          },
        };
      },
    ),
  };
}
