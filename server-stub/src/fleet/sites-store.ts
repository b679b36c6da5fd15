import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Site } from '../generated/contract.gen';
import { canSeeSite, visibleSiteIds, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import type { SiteRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';

export type SiteWithCount = SiteRow & { device_count: number | string | bigint | null };

/** Sites with their device count; non-admins only ever get the sites assigned to them. */
export function selectSites(context: AppContext, principal: Principal) {
  const siteIds = visibleSiteIds(principal);
  return context.db
    .selectFrom('sites')
    .selectAll('sites')
    .select((eb) =>
      eb
        .selectFrom('devices')
        .whereRef('devices.site_id', '=', 'sites.id')
        .select(eb.fn.countAll().as('n'))
        .as('device_count'),
    )
    .$if(siteIds !== null, (qb) => qb.where('sites.id', 'in', siteIds!));
}

export function toSite(row: SiteWithCount): z.infer<typeof Site> {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    device_count: Number(row.device_count),
    auto_approve_until: row.auto_approve_until,
    channel: row.channel,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export async function findVisibleSite(
  context: AppContext,
  principal: Principal,
  id: string,
): Promise<SiteWithCount> {
  return (await oneOrNotFound(
    selectSites(context, principal).where('sites.id', '=', id),
    'site',
    id,
  )) as SiteWithCount;
}

/** A site named in a request body: unknown or invisible sites are a 422, not a 404 of the URL. */
export async function assertUsableSite(context: AppContext, principal: Principal, id: string): Promise<void> {
  const exists = await context.db.selectFrom('sites').select('id').where('id', '=', id).executeTakeFirst();
  if (!exists || !canSeeSite(principal, id)) throw problems.unknownReference('site', [id]);
}
