/** Reading users and their role bindings, and turning rows into the API's `User`. */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { User } from '../generated/contract.gen';
import { passkeyCountsByUser } from '../auth/passkeys-store';
import { problems } from '../http/problem';
import type { UserRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';
import { bindingsByUser, namedSites, type RoleBinding } from './role-bindings';

export type ApiUser = z.infer<typeof User>;

export function toUser(row: UserRow, bindings: RoleBinding[], passkeyCount: number): ApiUser {
  return {
    id: row.id,
    username: row.username,
    display_name: row.display_name,
    email: row.email,
    role: row.role,
    disabled: row.disabled === 1,
    site_ids: namedSites(bindings),
    role_bindings: bindings,
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_login_at: row.last_login_at,
    mfa_enabled: row.mfa_enabled_at !== null,
    locked_until: row.locked_until,
    passkey_count: passkeyCount,
    source: row.source,
  };
}

/** Users as the API shows them, with their role bindings (one query for all of them). */
export async function presentUsers(context: AppContext, rows: UserRow[]): Promise<ApiUser[]> {
  const bindings = await bindingsByUser(
    context,
    rows.map((row) => row.id),
  );
  const passkeys = await passkeyCountsByUser(
    context,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toUser(row, bindings.get(row.id) ?? [], passkeys.get(row.id) ?? 0));
}

export async function presentUser(context: AppContext, row: UserRow): Promise<ApiUser> {
  const [user] = await presentUsers(context, [row]);
  return user!;
}

export async function findUser(context: AppContext, id: string): Promise<UserRow> {
  return oneOrNotFound(context.db.selectFrom('users').selectAll().where('id', '=', id), 'user', id);
}

/** Every listed site must exist; assignments to unknown sites are refused, not dropped. */
export async function assertSitesExist(context: AppContext, siteIds: readonly string[]): Promise<void> {
  if (siteIds.length === 0) return;
  const found = await context.db
    .selectFrom('sites')
    .select('id')
    .where('id', 'in', [...siteIds])
    .execute();
  const known = new Set(found.map((row) => row.id));
  const unknown = siteIds.filter((id) => !known.has(id));
  if (unknown.length > 0) throw problems.unknownReference('site', unknown);
}
