/**
 * The agent's side of enrolment: present a code (or a pre-registered device's registration
 * token), poll until an operator decides, collect the credentials once, refresh them later.
 */
import type { Request } from 'express';
import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import { isoAfter, type AppContext } from '../context';
import { contract, type AgentEnrollmentRequest } from '../generated/contract.gen';
import { hashSecret, newSecret, safeEqual } from '../auth/secrets';
import { problems, type ApiError } from '../http/problem';
import { assertDeviceType } from '../fleet/device-type-catalogue';
import {
  approveRequest,
  codeStatus,
  completeRequest,
  enrollmentRequestTopic,
  requestStatus,
} from '../fleet/enrollment-store';
import { emitEvent } from '../observe/events-store';
import { newId } from '../store/ids';
import type { EnrollmentRequestRow } from '../store/schema';
import { closed } from './commands-handlers';
import { refreshCredentials } from './credentials';

type Enrolment = z.infer<typeof AgentEnrollmentRequest>;

const REFUSALS = {
  invalid: ['enrollment_code_invalid', 'No such enrolment code; check it, or ask an operator for a new one.'],
  expired: ['enrollment_code_expired', 'This enrolment code expired; ask an operator for a new one.'],
  exhausted: [
    'enrollment_code_exhausted',
    'This enrolment code was used as many times as it allows; ask an operator for a new one.',
  ],
  revoked: ['enrollment_code_revoked', 'This enrolment code was revoked; ask an operator for a new one.'],
  registrationExpired: [
    'registration_token_expired',
    "This device's registration token expired; an admin can register the device again.",
  ],
} as const;

const s = initServer();

const alreadyCompleted = () =>
  problems.conflict(
    'enrollment_already_completed',
    'The credentials of this request were already handed out; they are not shown twice. Enrol again if they were lost.',
  );

export function agentEnrollmentRoutes(context: AppContext) {
  const { db } = context;

  function requestRow(
    body: Enrolment,
    req: Request,
    fields: Partial<EnrollmentRequestRow>,
  ): EnrollmentRequestRow {
    const now = context.now().toISOString();
    return {
      id: newId('enr'),
      status: 'pending',
      site_id: null,
      code_id: null,
      fingerprint: body.fingerprint,
      facts: JSON.stringify(body.facts),
      device_id: null,
      poll_token_hash: null,
      source_ip: req.ip ?? 'unknown',
      created_at: now,
      expires_at: now,
      decided_at: null,
      decided_by: null,
      deny_reason: null,
      ...fields,
    };
  }

  /** Records the attempt for admins (`status=wrong_code`) and returns the 422 to answer. */
  async function refuse(
    body: Enrolment,
    req: Request,
    reason: keyof typeof REFUSALS,
    codeId: string | null = null,
  ): Promise<ApiError> {
    await db
      .insertInto('enrollment_requests')
      .values(requestRow(body, req, { status: 'wrong_code', code_id: codeId }))
      .execute();
    const [code, detail] = REFUSALS[reason];
    return problems.unprocessable(code, detail);
  }

  /** A registration token from `POST /v1/devices`: the operator vouched for it already. */
  async function enrolPreRegistered(body: Enrolment, req: Request) {
    const tokenHash = hashSecret(body.code);
    const now = context.now().toISOString();
    const device = await db
      .selectFrom('devices')
      .selectAll()
      .where('registration_token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!device) throw await refuse(body, req, 'invalid');
    if (device.registration_expires_at !== null && device.registration_expires_at <= now)
      throw await refuse(body, req, 'registrationExpired');
    const other = await db
      .selectFrom('devices')
      .select('id')
      .where('fingerprint', '=', body.fingerprint)
      .where('id', '!=', device.id)
      .executeTakeFirst();
    if (other) {
      throw problems.conflict(
        'fingerprint_in_use',
        `This machine is already enrolled as device ${other.id}; delete that device first, or enrol with a code to re-enrol it.`,
      );
    }
    const claimed = await db
      .updateTable('devices')
      .set({
        registration_token_hash: null,
        registration_expires_at: null,
        fingerprint: body.fingerprint,
        hostname: body.facts.hostname,
        platform: body.facts.platform,
        agent_version: body.facts.agent_version,
        os_name: body.facts.os_name ?? null,
        os_version: body.facts.os_version ?? null,
        timezone: body.facts.timezone ?? null,
        addresses: JSON.stringify(body.facts.addresses ?? []),
      })
      .where('id', '=', device.id)
      .where('registration_token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) throw await refuse(body, req, 'invalid');
    const request = requestRow(body, req, {
      status: 'approved',
      site_id: device.site_id,
      device_id: device.id,
      decided_at: now,
      expires_at: isoAfter(context, context.fleet.approvedEnrollmentTtlSeconds),
    });
    await db.insertInto('enrollment_requests').values(request).execute();
    return approvedAnswer(request.id, device.id, 201);
  }

  async function approvedAnswer<Status extends 200 | 201>(
    requestId: string,
    deviceId: string,
    status: Status,
  ) {
    const credentials = await completeRequest(context, requestId);
    if (!credentials)
      throw new Error(`enrolment request ${requestId} was approved but could not be completed`);
    return {
      status,
      body: {
        request_id: requestId,
        status: 'approved' as const,
        device_id: deviceId,
        credentials,
        poll_interval_seconds: null,
        deny_reason: null,
      },
    };
  }

  return {
    enrollAgent: s.route(contract.agent.enrollAgent, async ({ body, req }) => {
      assertDeviceType(body.facts.device_type);
      if (body.code.startsWith('mrt_')) return enrolPreRegistered(body, req);
      const now = context.now().toISOString();
      const code = await db
        .selectFrom('enrollment_codes')
        .selectAll()
        .where('code_hash', '=', hashSecret(body.code))
        .executeTakeFirst();
      if (!code) throw await refuse(body, req, 'invalid');
      const status = codeStatus(code, now);
      if (status !== 'active') throw await refuse(body, req, status, code.id);

      const waiting = await db
        .selectFrom('enrollment_requests')
        .select('id')
        .where('fingerprint', '=', body.fingerprint)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (waiting) {
        throw problems.conflict(
          'enrollment_already_pending',
          `Enrolment request ${waiting.id} for this machine is still pending; keep polling it (or ask an operator to deny it).`,
        );
      }
      // Take one use of the code; of two agents racing for its last use, one gets exhausted.
      const used = await db
        .updateTable('enrollment_codes')
        .set((eb) => ({ use_count: eb('use_count', '+', 1) }))
        .where('id', '=', code.id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where((eb) => eb.or([eb('max_uses', 'is', null), eb('use_count', '<', eb.ref('max_uses') as never)]))
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) === 0) throw await refuse(body, req, 'exhausted', code.id);

      const pollToken = newSecret('mpt');
      const request = requestRow(body, req, {
        site_id: code.site_id,
        code_id: code.id,
        poll_token_hash: hashSecret(pollToken),
        expires_at: isoAfter(context, context.fleet.pendingEnrollmentTtlSeconds),
      });
      await db.insertInto('enrollment_requests').values(request).execute();
      await emitEvent(context, {
        type: 'enrollment.requested',
        severity: 'info',
        siteId: code.site_id,
        deviceId: null,
        message: `${body.facts.hostname} asked to enrol with code ${code.code_prefix}….`,
        data: { enrollment_request_id: request.id, hostname: body.facts.hostname, code_id: code.id },
      });

      const site = await db
        .selectFrom('sites')
        .select('auto_approve_until')
        .where('id', '=', code.site_id)
        .executeTakeFirstOrThrow();
      if (code.auto_approve === 1 || (site.auto_approve_until !== null && site.auto_approve_until > now)) {
        const deviceId = await db
          .transaction()
          .execute((trx) => approveRequest(context, request, { siteId: code.site_id, decidedBy: null }, trx));
        if (deviceId) return approvedAnswer(request.id, deviceId, 201);
      }
      return {
        status: 202,
        body: {
          request_id: request.id,
          status: 'pending',
          poll_token: pollToken,
          poll_interval_seconds: context.fleet.enrollmentPollIntervalSeconds,
          expires_at: request.expires_at,
        },
      };
    }),

    pollAgentEnrollment: s.route(contract.agent.pollAgentEnrollment, async ({ body, query, res }) => {
      const read = () =>
        db.selectFrom('enrollment_requests').selectAll().where('id', '=', body.request_id).executeTakeFirst();
      const first = await read();
      if (!first?.poll_token_hash || !safeEqual(hashSecret(body.poll_token), first.poll_token_hash))
        throw problems.notFound('enrollment request', body.request_id);
      const undecided = (row: EnrollmentRequestRow | undefined) =>
        row !== undefined && requestStatus(row, context.now().toISOString()) === 'pending';
      const row =
        query.wait_seconds === 0 || !undecided(first)
          ? first
          : ((await context.signals.waitFor(
              enrollmentRequestTopic(first.id),
              query.wait_seconds * 1000,
              context.timers,
              'agent-enrollment',
              read,
              (latest) => !undecided(latest),
              AbortSignal.any([closed(res), context.draining]),
            )) ?? first);
      const now = context.now().toISOString();
      const answer = {
        request_id: row.id,
        device_id: null,
        credentials: null,
        poll_interval_seconds: null,
        deny_reason: null,
      };
      switch (requestStatus(row, now)) {
        case 'pending':
          return {
            status: 200,
            body: {
              ...answer,
              status: 'pending',
              poll_interval_seconds: context.fleet.enrollmentPollIntervalSeconds,
            },
          };
        case 'approved': {
          if (row.device_id !== null) {
            const credentials = await completeRequest(context, row.id);
            if (credentials)
              return {
                status: 200,
                body: { ...answer, status: 'approved', device_id: row.device_id, credentials },
              };
          }
          // Either a concurrent poll collected them, or the device was deleted between approval
          // and collection and nothing is left to hand out.
          const expired = await db
            .updateTable('enrollment_requests')
            .set({ status: 'expired' })
            .where('id', '=', row.id)
            .where('status', '=', 'approved')
            .executeTakeFirst();
          if (Number(expired.numUpdatedRows) === 0) throw alreadyCompleted();
          return { status: 200, body: { ...answer, status: 'expired' } };
        }
        case 'completed':
          throw alreadyCompleted();
        case 'denied':
          return { status: 200, body: { ...answer, status: 'denied', deny_reason: row.deny_reason } };
        default:
          return { status: 200, body: { ...answer, status: 'expired' } };
      }
    }),

    refreshAgentToken: s.route(contract.agent.refreshAgentToken, async ({ body }) => ({
      status: 200,
      body: await refreshCredentials(context, body.refresh_token),
    })),
  };
}
