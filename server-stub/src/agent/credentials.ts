/**
 * Agent credentials: a short-lived access token (`mat_`) for the agent routes and a single-use
 * refresh token (`mrf_`) to get the next pair. Only hashes are stored. A refresh token presented
 * a second time means someone copied it, so every token of the device is revoked at once.
 */
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { isoAfter, type AppContext } from '../context';
import type { AgentCredentials } from '../generated/contract.gen';
import { hashSecret, newSecret } from '../auth/secrets';
import type { AgentPrincipal } from '../http/principal';
import { problems } from '../http/problem';
import { emitEvent } from '../observe/events-store';
import { cachePerServer } from '../runtime/credential-cache';
import { newId } from '../store/ids';
import type { AgentTokenRow, Database } from '../store/schema';

export type Credentials = z.infer<typeof AgentCredentials>;

const AGENT_CREDENTIALS_TOPIC = 'agent-credentials';
/** Verified access tokens by hash (runtime/credential-cache.ts), each with its expiry. */
const verifiedAccessTokens = cachePerServer<{ agent: AgentPrincipal; expiresAt: string }>(
  AGENT_CREDENTIALS_TOPIC,
);

/**
 * Forgets every verified agent access token, on this instance at once and on the others (on one
 * PostgreSQL database) as soon as the signal reaches them: called wherever a device's tokens are
 * revoked, and when a device is deleted or moved to another site. Such changes are rare, and each
 * agent's next request verifies its token in the database again.
 */
export function forgetAgentCredentials(context: AppContext): void {
  context.signals.notify(AGENT_CREDENTIALS_TOPIC);
}

/** Issues a new access and refresh token for the device. */
export async function issueCredentials(
  context: AppContext,
  deviceId: string,
  db: Kysely<Database> = context.db,
): Promise<Credentials> {
  const now = context.now().toISOString();
  const accessToken = newSecret('mat');
  const refreshToken = newSecret('mrf');
  const accessExpires = isoAfter(context, context.fleet.accessTokenTtlSeconds);
  const refreshExpires = isoAfter(context, context.fleet.refreshTokenTtlSeconds);
  await db
    .insertInto('agent_tokens')
    .values([
      {
        id: newId('atk'),
        device_id: deviceId,
        kind: 'access',
        token_hash: hashSecret(accessToken),
        created_at: now,
        expires_at: accessExpires,
        used_at: null,
        revoked_at: null,
      },
      {
        id: newId('atk'),
        device_id: deviceId,
        kind: 'refresh',
        token_hash: hashSecret(refreshToken),
        created_at: now,
        expires_at: refreshExpires,
        used_at: null,
        revoked_at: null,
      },
    ])
    .execute();
  return {
    device_id: deviceId,
    token_type: 'bearer',
    access_token: accessToken,
    access_token_expires_at: accessExpires,
    refresh_token: refreshToken,
    refresh_token_expires_at: refreshExpires,
  };
}

/** Revokes every live token of the device; returns how many. */
export async function revokeDeviceTokens(
  context: AppContext,
  deviceId: string,
  db: Kysely<Database> = context.db,
): Promise<number> {
  const result = await db
    .updateTable('agent_tokens')
    .set({ revoked_at: context.now().toISOString() })
    .where('device_id', '=', deviceId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  forgetAgentCredentials(context);
  return Number(result.numUpdatedRows);
}

/** The 401 for credentials whose device was deleted. */
export const deviceDeleted = () =>
  problems.unauthenticated(
    'device_deleted',
    'The device these credentials belong to was deleted; the agent must enrol again.',
  );

/** The checks every presented token goes through, in the order that gives the clearest answer. */
async function checkToken(
  context: AppContext,
  row: AgentTokenRow | undefined,
  kind: 'access' | 'refresh',
): Promise<{ row: AgentTokenRow; siteId: string }> {
  if (!row)
    throw problems.invalidToken(
      `Meridian device ${kind} token`,
      kind === 'access' ? 'invalid_token' : 'invalid_refresh_token',
    );
  const device = await context.db
    .selectFrom('devices')
    .select(['id', 'site_id'])
    .where('id', '=', row.device_id)
    .executeTakeFirst();
  if (!device) throw deviceDeleted();
  if (row.revoked_at)
    throw problems.unauthenticated(
      'credentials_revoked',
      "The device's credentials were revoked; the agent must enrol again.",
    );
  if (row.expires_at <= context.now().toISOString()) {
    throw problems.tokenExpired(
      `${kind} token`,
      kind === 'access' ? 'get a new one with POST /v1/agent/token' : 'the agent must enrol again',
    );
  }
  return { row, siteId: device.site_id };
}

/**
 * `last_used_at` is a hint for operators (`GET /v1/devices/{id}/credentials`), not an audit trail:
 * written when a token is verified from the database and its mark is older than this, so an
 * access token (15 minutes) is written a few times in its life, not on every call.
 */
const LAST_USED_GRANULARITY_MS = 5 * 60_000;

async function markUsed(context: AppContext, row: AgentTokenRow): Promise<void> {
  const now = context.now();
  if (row.last_used_at && now.getTime() - Date.parse(row.last_used_at) < LAST_USED_GRANULARITY_MS) return;
  await context.db
    .updateTable('agent_tokens')
    .set({ last_used_at: now.toISOString() })
    .where('id', '=', row.id)
    .execute();
}

/**
 * The device behind an access token (authenticate.ts), or a 401 saying why not. A token verified in
 * the last few seconds is believed until it expires (runtime/credential-cache.ts).
 */
export async function authenticateAgent(context: AppContext, accessToken: string): Promise<AgentPrincipal> {
  const hash = hashSecret(accessToken);
  const cache = verifiedAccessTokens(context);
  const verified = cache.get(hash);
  if (verified && verified.expiresAt > context.now().toISOString()) return verified.agent;
  const stamp = cache.stamp;
  const row = await context.db
    .selectFrom('agent_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .where('kind', '=', 'access')
    .executeTakeFirst();
  const checked = await checkToken(context, row, 'access');
  await markUsed(context, checked.row);
  const agent = { deviceId: checked.row.device_id, siteId: checked.siteId, tokenId: checked.row.id };
  cache.set(hash, { agent, expiresAt: checked.row.expires_at }, stamp);
  return agent;
}

/** Trades a refresh token for new credentials, detecting reuse. */
export async function refreshCredentials(context: AppContext, refreshToken: string): Promise<Credentials> {
  const row = await context.db
    .selectFrom('agent_tokens')
    .selectAll()
    .where('token_hash', '=', hashSecret(refreshToken))
    .where('kind', '=', 'refresh')
    .executeTakeFirst();
  const { row: token, siteId } = await checkToken(context, row, 'refresh');
  // Claim the token: only one request can flip used_at from null, even when two race.
  const claimed = await context.db
    .updateTable('agent_tokens')
    .set({ used_at: context.now().toISOString() })
    .where('id', '=', token.id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 0) {
    const revoked = await revokeDeviceTokens(context, token.device_id);
    await emitEvent(context, {
      type: 'device.token_reuse_detected',
      severity: 'critical',
      siteId,
      deviceId: token.device_id,
      message: "A refresh token was presented a second time; all of the device's tokens were revoked.",
      data: { revoked_tokens: revoked },
    });
    throw problems.unauthenticated(
      'refresh_token_reused',
      "This refresh token was already used, so it may have been copied: all of the device's tokens are revoked. Enrol again.",
    );
  }
  return issueCredentials(context, token.device_id);
}
