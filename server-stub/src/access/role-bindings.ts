/**
 * Role bindings: the roles a user holds, each on every site or on a list of sites. What they
 * grant (`Access`) is worked out here for authenticate.ts; the users API reads and writes them.
 * A binding limited to sites grants only site-level scopes (those the built-in operator and
 * viewer hold); the other scopes (users, roles, webhooks, settings, …) concern no site and need
 * a binding on every site, so a role bound to one site never reaches beyond it.
 */
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { RoleBinding as RoleBindingSchema } from '../generated/contract.gen';
import type { Access } from '../http/principal';
import { problems } from '../http/problem';
import { isForeignKeyViolation } from '../store/constraints';
import type { Database } from '../store/schema';
import { BUILT_IN_ROLE_IDS, ROLE_SCOPES, type Role, type Scope } from './roles';
import { assertSitesExist } from './users-store';

export type RoleBinding = z.infer<typeof RoleBindingSchema>;

/** The scopes a binding limited to sites can grant: site-level work, as operators and viewers do it. */
const SITE_LEVEL_SCOPES: ReadonlySet<Scope> = new Set([...ROLE_SCOPES.operator, ...ROLE_SCOPES.viewer]);

const builtInRoleOf = new Map(Object.entries(BUILT_IN_ROLE_IDS).map(([role, id]) => [id, role as Role]));

/** A role's scopes: a built-in role's from ROLE_SCOPES, a custom role's as stored. */
export function scopesOfRole(row: { id: string; scopes: string }): readonly Scope[] {
  const builtIn = builtInRoleOf.get(row.id);
  return builtIn ? ROLE_SCOPES[builtIn] : (JSON.parse(row.scopes) as Scope[]);
}

/**
 * The built-in role the API shows as `User.role` and stores in `users.role`: admin for holders of
 * the admin role, operator for holders of the operator role or of a custom role, else viewer.
 */
export function builtInRoleFor(bindings: readonly RoleBinding[]): Role {
  const held = new Set(bindings.map((binding) => builtInRoleOf.get(binding.role_id)));
  if (held.has('admin')) return 'admin';
  return held.has('operator') || held.has(undefined) ? 'operator' : 'viewer';
}

/** The one binding that `role` and `site_ids` (the fields clients had before bindings) stand for. */
export function bindingOfRole(role: Role, siteIds: readonly string[]): RoleBinding {
  return { role_id: BUILT_IN_ROLE_IDS[role], site_ids: role === 'admin' ? null : [...siteIds] };
}

/** The sites `bindings` name (the released `User.site_ids`). */
export function namedSites(bindings: readonly RoleBinding[]): string[] {
  return [...new Set(bindings.flatMap((binding) => binding.site_ids ?? []))].sort();
}

/** Each user's bindings (roles in ID order, sites in ID order), for the users API. */
export async function bindingsByUser(
  context: AppContext,
  userIds: readonly string[],
): Promise<Map<string, RoleBinding[]>> {
  const byUser = new Map<string, RoleBinding[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return byUser;
  const [bindings, sites] = await Promise.all([
    context.db
      .selectFrom('role_bindings')
      .select(['user_id', 'role_id', 'all_sites'])
      .where('user_id', 'in', [...userIds])
      .orderBy('role_id')
      .execute(),
    context.db
      .selectFrom('role_binding_sites')
      .select(['user_id', 'role_id', 'site_id'])
      .where('user_id', 'in', [...userIds])
      .orderBy('site_id')
      .execute(),
  ]);
  const sitesOf = new Map<string, string[]>();
  for (const row of sites) {
    const key = `${row.user_id} ${row.role_id}`;
    sitesOf.set(key, [...(sitesOf.get(key) ?? []), row.site_id]);
  }
  for (const row of bindings)
    byUser.get(row.user_id)?.push({
      role_id: row.role_id,
      site_ids: row.all_sites === 1 ? null : (sitesOf.get(`${row.user_id} ${row.role_id}`) ?? []),
    });
  return byUser;
}

/**
 * Checks bindings a request gives a user: each role once (`422 duplicate_role_binding`), every
 * role and site existing (`422 unknown_role`, `422 unknown_site`), the admin role on every site
 * (`422 admin_role_all_sites`).
 */
export async function checkBindings(context: AppContext, bindings: readonly RoleBinding[]): Promise<void> {
  const roleIds = bindings.map((binding) => binding.role_id);
  const repeated = roleIds.filter((id, index) => roleIds.indexOf(id) !== index);
  if (repeated.length > 0)
    throw problems.unprocessable(
      'duplicate_role_binding',
      `Role ${repeated.join(', ')} is bound more than once; give one binding per role, with every site it applies to.`,
    );
  if (bindings.some((binding) => binding.role_id === BUILT_IN_ROLE_IDS.admin && binding.site_ids !== null))
    throw problems.unprocessable(
      'admin_role_all_sites',
      'The admin role applies to every site: bind it with site_ids null.',
    );
  const known = new Set(
    roleIds.length === 0
      ? []
      : (await context.db.selectFrom('roles').select('id').where('id', 'in', roleIds).execute()).map(
          (row) => row.id,
        ),
  );
  const unknown = roleIds.filter((id) => !known.has(id));
  if (unknown.length > 0) throw problems.unknownReference('role', unknown);
  await assertSitesExist(context, namedSites(bindings));
}

/**
 * A role or site checkBindings found that another request deleted before the bindings were
 * written (their foreign keys refuse them): 422, as if it had been gone already.
 */
const deletedMeanwhile = (what: 'role' | 'site', ids: readonly string[]) => (error: unknown) => {
  if (!isForeignKeyViolation(error)) throw error;
  throw problems.unprocessable(
    `unknown_${what}`,
    `A ${what} of ${ids.join(', ')} was deleted while the role bindings were being written; check them and try again.`,
  );
};

/** Replaces a user's bindings (in the caller's transaction); `users.role` is the caller's to set. */
export async function replaceBindings(
  trx: Kysely<Database>,
  userId: string,
  bindings: readonly RoleBinding[],
): Promise<void> {
  await trx.deleteFrom('role_bindings').where('user_id', '=', userId).execute();
  if (bindings.length === 0) return;
  await trx
    .insertInto('role_bindings')
    .values(
      bindings.map((binding) => ({
        user_id: userId,
        role_id: binding.role_id,
        all_sites: binding.site_ids === null ? 1 : 0,
      })),
    )
    .execute()
    .catch(
      deletedMeanwhile(
        'role',
        bindings.map((binding) => binding.role_id),
      ),
    );
  const sites = bindings.flatMap((binding) =>
    (binding.site_ids ?? []).map((site_id) => ({ user_id: userId, role_id: binding.role_id, site_id })),
  );
  if (sites.length > 0)
    await trx
      .insertInto('role_binding_sites')
      .values(sites)
      .execute()
      .catch(deletedMeanwhile('site', namedSites(bindings)));
}

/** What a user's bindings grant now, for authenticate.ts. */
export async function accessOf(context: AppContext, userId: string): Promise<Access> {
  const [bindings, sites] = await Promise.all([
    context.db
      .selectFrom('role_bindings as b')
      .innerJoin('roles as r', 'r.id', 'b.role_id')
      .select(['r.id', 'r.scopes', 'b.all_sites'])
      .where('b.user_id', '=', userId)
      .execute(),
    context.db
      .selectFrom('role_binding_sites')
      .select(['role_id', 'site_id'])
      .where('user_id', '=', userId)
      .orderBy('site_id')
      .execute(),
  ]);
  const everywhere = new Set<Scope>();
  const held = new Set<Scope>();
  // What each binding grants: every scope of its role on every site, site-level ones on sites.
  const granted = new Map(
    bindings.map((binding) => [
      binding.id,
      scopesOfRole(binding).filter((scope) => binding.all_sites === 1 || SITE_LEVEL_SCOPES.has(scope)),
    ]),
  );
  for (const binding of bindings)
    for (const scope of granted.get(binding.id)!) {
      held.add(scope);
      if (binding.all_sites === 1) everywhere.add(scope);
    }
  const bySite = new Map<string, Set<Scope>>();
  for (const { role_id, site_id } of sites)
    bySite.set(site_id, new Set([...(bySite.get(site_id) ?? []), ...(granted.get(role_id) ?? [])]));
  return { allSites: bindings.some((binding) => binding.all_sites === 1), everywhere, bySite, held };
}

/** What an API token carrying `tokenScopes` grants: its creator's access, no more than those scopes. */
export function tokenAccess(access: Access, tokenScopes: readonly Scope[]): Access {
  const carried = new Set(tokenScopes);
  const narrow = (scopes: ReadonlySet<Scope>) => new Set([...scopes].filter((scope) => carried.has(scope)));
  return {
    allSites: access.allSites,
    everywhere: narrow(access.everywhere),
    bySite: new Map([...access.bySite].map(([siteId, scopes]) => [siteId, narrow(scopes)])),
    held: narrow(access.held),
  };
}

/** The principal's scopes (those held at all) and sites (those the bindings cover; `null`: every site). */
export function reachOf(access: Access): { scopes: ReadonlySet<Scope>; siteIds: string[] | null } {
  return { scopes: access.held, siteIds: access.allSites ? null : [...access.bySite.keys()] };
}
