import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import {
  approveRequest,
  enrollmentRequestTopic,
  findVisibleRequest,
  notPending,
  selectRequests,
  toEnrollmentRequest,
  whereRequestStatus,
} from './enrollment-store';
import { assertUsableSite } from './sites-store';

export function enrollmentRequestsHandlers(context: AppContext) {
  const { db } = context;

  /** The request as the principal sees it now, after a decision. */
  async function reread(principal: Principal, id: string) {
    return toEnrollmentRequest(await findVisibleRequest(context, principal, id), context.now().toISOString());
  }

  return initServer().router(contract.enrollmentRequests, {
    listEnrollmentRequests: async ({ query, req }) => {
      const principal = principalOf(req);
      if (query.status === 'wrong_code' && principal.role !== 'admin') {
        throw problems.forbidden(
          'admin_only',
          'Only admins can list wrong-code attempts: they belong to no site.',
        );
      }
      const now = context.now().toISOString();
      const body = await paginate(
        query,
        whereEqual(selectRequests(context, principal), { 'r.site_id': query.site_id }).$if(
          query.status !== undefined,
          (qb) => qb.where(whereRequestStatus(query.status!, now)),
        ),
        (row) => toEnrollmentRequest(row, now),
        'r.id',
      );
      return { status: 200, body };
    },

    getEnrollmentRequest: async ({ params, req }) => ({
      status: 200,
      body: await reread(principalOf(req), params.request_id),
    }),

    approveEnrollmentRequest: async ({ params, body, req }) => {
      const principal = principalOf(req);
      const request = await findVisibleRequest(context, principal, params.request_id);
      const refusal = notPending(request, context.now().toISOString());
      if (refusal) throw refusal;
      const siteId = body.site_id ?? request.site_id!;
      if (body.site_id !== undefined) await assertUsableSite(context, principal, body.site_id);
      const deviceId = await db
        .transaction()
        .execute((trx) =>
          approveRequest(context, request, { siteId, name: body.name, decidedBy: principal.user.id }, trx),
        );
      if (!deviceId)
        throw notPending(
          await findVisibleRequest(context, principal, request.id),
          context.now().toISOString(),
        )!;
      context.signals.notify(enrollmentRequestTopic(request.id));
      return { status: 200, body: await reread(principal, request.id) };
    },

    denyEnrollmentRequest: async ({ params, body, req }) => {
      const principal = principalOf(req);
      const request = await findVisibleRequest(context, principal, params.request_id);
      const now = context.now().toISOString();
      const refusal = notPending(request, now);
      if (refusal) throw refusal;
      const denied = await db
        .updateTable('enrollment_requests')
        .set({
          status: 'denied',
          decided_at: now,
          decided_by: principal.user.id,
          deny_reason: body.reason ?? null,
        })
        .where('id', '=', request.id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(denied.numUpdatedRows) === 0)
        throw notPending(await findVisibleRequest(context, principal, request.id), now)!;
      context.signals.notify(enrollmentRequestTopic(request.id));
      return { status: 200, body: await reread(principal, request.id) };
    },
  });
}
