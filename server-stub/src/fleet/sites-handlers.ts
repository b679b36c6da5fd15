import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { forgetOperatorCredentials } from '../http/authenticate';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import { containsText } from '../store/search';
import { findVisibleSite, selectSites, toSite } from './sites-store';

const MAX_AUTO_APPROVAL_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

export function sitesHandlers(context: AppContext) {
  const { db } = context;

  async function assertNameFree(name: string, exceptId?: string): Promise<void> {
    const taken = await db
      .selectFrom('sites')
      .select('id')
      .where('name_key', '=', name.toLowerCase())
      .executeTakeFirst();
    if (taken && taken.id !== exceptId) throw problems.nameTaken('site_name_taken', 'site', name);
  }

  /** An auto-approval window opens now and closes in the future, at most a week away. */
  function assertAutoApprovalWindow(until: string | null | undefined): void {
    if (until === null || until === undefined) return;
    const now = context.now().getTime();
    const end = Date.parse(until);
    if (end <= now)
      throw problems.unprocessable(
        'auto_approval_window_in_past',
        'auto_approve_until must be in the future; send null to close the window.',
      );
    if (end - now > MAX_AUTO_APPROVAL_WINDOW_MS) {
      throw problems.unprocessable(
        'auto_approval_window_too_long',
        'auto_approve_until may be at most 7 days away; open a new window later if needed.',
      );
    }
  }

  const site = versionedRoutes(context, {
    table: 'sites',
    read: ({ params, req }: RouteArgs<{ site_id: string }>) =>
      findVisibleSite(context, principalOf(req), params.site_id),
    present: toSite,
  });

  return initServer().router(contract.sites, {
    listSites: async ({ query, req }) => {
      const principal = principalOf(req);
      const body = await paginate(
        query,
        selectSites(context, principal).$if(query.q !== undefined, (qb) =>
          qb.where(containsText('sites.name', query.q!)),
        ),
        toSite,
        'sites.id',
      );
      return { status: 200, body };
    },

    createSite: async ({ body, res }) => {
      await assertNameFree(body.name);
      const now = context.now().toISOString();
      const row = {
        id: newId('site'),
        name: body.name,
        name_key: body.name.toLowerCase(),
        description: body.description ?? '',
        auto_approve_until: null,
        channel: null,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('sites').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: toSite({ ...row, version: 1, device_count: 0 }) };
    },

    getSite: site.get,

    updateSite: site.update(async ({ body }: HandlerArgs<typeof contract.sites.updateSite>, current) => {
      if (body.name !== undefined) await assertNameFree(body.name, current.id);
      assertAutoApprovalWindow(body.auto_approve_until);
      return { ...body, ...(body.name === undefined ? {} : { name_key: body.name.toLowerCase() }) };
    }),

    deleteSite: async ({ params, req }) => {
      const site = await findVisibleSite(context, principalOf(req), params.site_id);
      if (Number(site.device_count) > 0) {
        throw problems.conflict(
          'site_not_empty',
          `The site still has ${site.device_count} device(s); move or delete them first.`,
        );
      }
      await db.deleteFrom('sites').where('id', '=', site.id).execute();
      // Users assigned to the site lose it.
      forgetOperatorCredentials(context);
      return { status: 204, body: undefined };
    },
  });
}
