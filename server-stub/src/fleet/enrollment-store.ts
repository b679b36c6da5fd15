/**
 * Enrolment: codes, the approval queue, and the two steps every successful enrolment goes
 * through whoever triggers them — approval (the request gets a device) and completion (the
 * agent gets credentials). Operator handlers (enrollment-codes.ts, enrollment-requests.ts) and
 * the agent's (agent/enrollment-handlers.ts) only decide when to call them.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { z } from 'zod';
import { isoAfter, type AppContext } from '../context';
import type {
  AgentFacts,
  EnrollmentCode,
  EnrollmentCodeStatus,
  EnrollmentRequest,
  EnrollmentRequestStatus,
} from '../generated/contract.gen';
import { issueCredentials, revokeDeviceTokens, type Credentials } from '../agent/credentials';
import { visibleSiteIds, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { announceEvents, insertEvent } from '../observe/events-store';
import { newId } from '../store/ids';
import { DEFAULT_DEVICE_TYPE } from './device-type-catalogue';
import type { Database, EnrollmentCodeRow, EnrollmentRequestRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';

export type Facts = z.infer<typeof AgentFacts>;
type CodeStatus = z.infer<typeof EnrollmentCodeStatus>;
type RequestStatus = z.infer<typeof EnrollmentRequestStatus>;

// ---------------------------------------------------------------------------------------------
// Codes

export function codeStatus(row: EnrollmentCodeRow, now: string): CodeStatus {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at <= now) return 'expired';
  if (row.max_uses !== null && row.use_count >= row.max_uses) return 'exhausted';
  return 'active';
}

export function toEnrollmentCode(row: EnrollmentCodeRow, now: string): z.infer<typeof EnrollmentCode> {
  return {
    id: row.id,
    site_id: row.site_id,
    label: row.label,
    code_prefix: row.code_prefix,
    auto_approve: row.auto_approve === 1,
    status: codeStatus(row, now),
    expires_at: row.expires_at,
    max_uses: row.max_uses,
    use_count: row.use_count,
    created_by: row.created_by,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}

type CodeFilter = ExpressionBuilder<Database, 'enrollment_codes'>;

/** Codes in one state, as SQL (the same rules as `codeStatus`). */
export function whereCodeStatus(status: CodeStatus, now: string) {
  return (eb: CodeFilter) => {
    const live = [eb('revoked_at', 'is', null), eb('expires_at', '>', now)];
    switch (status) {
      case 'revoked':
        return eb('revoked_at', 'is not', null);
      case 'expired':
        return eb.and([eb('revoked_at', 'is', null), eb('expires_at', '<=', now)]);
      case 'exhausted':
        return eb.and([
          ...live,
          eb('max_uses', 'is not', null),
          eb('use_count', '>=', eb.ref('max_uses') as never),
        ]);
      case 'active':
        return eb.and([
          ...live,
          eb.or([eb('max_uses', 'is', null), eb('use_count', '<', eb.ref('max_uses') as never)]),
        ]);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Signalled when an operator decides a request (its agent waiting on the poll). */
export const enrollmentRequestTopic = (requestId: string): string => `enrollment-request:${requestId}`;

/** Pending and approved requests are expired from their `expires_at` on, sweep or no sweep. */
export function requestStatus(
  row: Pick<EnrollmentRequestRow, 'status' | 'expires_at'>,
  now: string,
): RequestStatus {
  if ((row.status === 'pending' || row.status === 'approved') && row.expires_at <= now) return 'expired';
  return row.status;
}

export type RequestWithKnownDevice = EnrollmentRequestRow & { known_device_id: string | null };

export function toEnrollmentRequest(
  row: RequestWithKnownDevice,
  now: string,
): z.infer<typeof EnrollmentRequest> {
  return {
    id: row.id,
    status: requestStatus(row, now),
    site_id: row.site_id,
    code_id: row.code_id,
    fingerprint: row.fingerprint,
    facts: JSON.parse(row.facts) as Facts,
    device_id: row.device_id,
    known_device_id: row.known_device_id !== row.device_id ? row.known_device_id : null,
    source_ip: row.source_ip,
    created_at: row.created_at,
    expires_at: row.expires_at,
    decided_at: row.decided_at,
    decided_by: row.decided_by,
    deny_reason: row.deny_reason,
  };
}

/**
 * Requests the principal may see, each with the existing device that has its fingerprint.
 * Wrong-code attempts belong to no site, so only admins (who see everything) see them.
 */
export function selectRequests(context: AppContext, principal: Principal) {
  const siteIds = visibleSiteIds(principal);
  return context.db
    .selectFrom('enrollment_requests as r')
    .leftJoin('devices as known', 'known.fingerprint', 'r.fingerprint')
    .selectAll('r')
    .select('known.id as known_device_id')
    .$if(siteIds !== null, (qb) => qb.where('r.site_id', 'in', siteIds!));
}

export async function findVisibleRequest(
  context: AppContext,
  principal: Principal,
  id: string,
): Promise<RequestWithKnownDevice> {
  return oneOrNotFound(selectRequests(context, principal).where('r.id', '=', id), 'enrollment request', id);
}

/** Requests in one (effective) state, as SQL (the same rules as `requestStatus`). */
export function whereRequestStatus(status: RequestStatus, now: string) {
  return (eb: ExpressionBuilder<Database & { r: EnrollmentRequestRow }, 'r'>) => {
    if (status === 'pending' || status === 'approved')
      return eb.and([eb('r.status', '=', status), eb('r.expires_at', '>', now)]);
    if (status === 'expired') {
      return eb.or([
        eb('r.status', '=', 'expired'),
        eb.and([eb('r.status', 'in', ['pending', 'approved']), eb('r.expires_at', '<=', now)]),
      ]);
    }
    return eb('r.status', '=', status);
  };
}

/** Why a request cannot be decided any more, or undefined when it is still pending. */
export function notPending(row: Pick<EnrollmentRequestRow, 'id' | 'status' | 'expires_at'>, now: string) {
  const status = requestStatus(row, now);
  if (status === 'pending') return undefined;
  return problems.conflict(
    'enrollment_request_not_pending',
    `Enrolment request ${row.id} is ${status}; only pending requests can be decided.`,
  );
}

export interface Approval {
  siteId: string;
  name?: string | undefined;
  decidedBy: string | null;
}

/**
 * Approves a pending request: the device with the request's fingerprint gets it (moved to the
 * chosen site, its old credentials revoked), or a new device is created when there is none —
 * for instance because the machine's earlier device was deleted. Returns the device's ID, or
 * undefined when another decision got there first.
 */
export async function approveRequest(
  context: AppContext,
  request: EnrollmentRequestRow,
  approval: Approval,
  db: Kysely<Database>,
): Promise<string | undefined> {
  const now = context.now().toISOString();
  // Claim the decision first: of two operators deciding at once, only one gets here.
  const claimed = await db
    .updateTable('enrollment_requests')
    .set({
      status: 'approved',
      site_id: approval.siteId,
      decided_at: now,
      decided_by: approval.decidedBy,
      expires_at: isoAfter(context, context.fleet.approvedEnrollmentTtlSeconds),
    })
    .where('id', '=', request.id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 0) return undefined;
  const facts = JSON.parse(request.facts) as Facts;
  const reported = {
    hostname: facts.hostname,
    platform: facts.platform,
    agent_version: facts.agent_version,
    os_name: facts.os_name ?? null,
    os_version: facts.os_version ?? null,
    timezone: facts.timezone ?? null,
    addresses: JSON.stringify(facts.addresses ?? []),
  };
  const known = await db
    .selectFrom('devices')
    .select(['id'])
    .where('fingerprint', '=', request.fingerprint)
    .executeTakeFirst();
  let deviceId: string;
  if (known) {
    deviceId = known.id;
    await revokeDeviceTokens(context, deviceId, db);
    await db
      .updateTable('devices')
      .set({ ...reported, site_id: approval.siteId })
      .where('id', '=', deviceId)
      .execute();
  } else {
    deviceId = newId('dev');
    await db
      .insertInto('devices')
      .values({
        id: deviceId,
        site_id: approval.siteId,
        name: approval.name ?? facts.hostname.slice(0, 100),
        description: '',
        status: 'pending',
        device_type: facts.device_type ?? DEFAULT_DEVICE_TYPE,
        tags: '[]',
        last_seen_at: null,
        registration_token_hash: null,
        registration_expires_at: null,
        fingerprint: request.fingerprint,
        uptime_seconds: null,
        metrics: null,
        enrolled_at: null,
        credentials_revoked_at: null,
        created_at: now,
        updated_at: now,
        ...reported,
      })
      .execute();
  }
  await db
    .updateTable('enrollment_requests')
    .set({ device_id: deviceId })
    .where('id', '=', request.id)
    .execute();
  return deviceId;
}

/**
 * Hands the credentials of an approved request to its agent, once: the request becomes
 * `completed`, the device records the enrolment and a `device.enrolled` event is written.
 * Returns undefined when the request was not (or no longer) approved.
 */
export async function completeRequest(
  context: AppContext,
  requestId: string,
): Promise<Credentials | undefined> {
  const now = context.now().toISOString();
  const credentials = await context.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('enrollment_requests')
      .set({ status: 'completed' })
      .where('id', '=', requestId)
      .where('status', '=', 'approved')
      .where('expires_at', '>', now)
      .where('device_id', 'is not', null)
      .returning(['device_id'])
      .executeTakeFirst();
    if (!claimed?.device_id) return undefined;
    const device = await trx
      .updateTable('devices')
      .set({ enrolled_at: now })
      .where('id', '=', claimed.device_id)
      .returning(['id', 'site_id', 'name'])
      .executeTakeFirstOrThrow();
    await insertEvent(trx, context, {
      type: 'device.enrolled',
      severity: 'info',
      siteId: device.site_id,
      deviceId: device.id,
      message: `${device.name} enrolled and received its credentials.`,
      data: { enrollment_request_id: requestId },
    });
    return issueCredentials(context, device.id, trx);
  });
  if (credentials) announceEvents(context);
  return credentials;
}
