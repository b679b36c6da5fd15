/**
 * The end of a sign-in through an identity provider (OIDC or LDAP), once the provider vouched for
 * the user: the allowed domains and role mappings are applied, the user is found by the
 * provider's ID for it or created just in time (`source` = the provider's kind), given a binding
 * on every site of each role mapped to them (again at each sign-in: the provider decides), and the
 * sign-in ends like every other (completeSignIn).
 */
import type { Request, Response } from 'express';
import { allowedDomains, roleMappings, rolesNamed } from '../access/identity-providers-store';
import { builtInRoleFor, type RoleBinding, replaceBindings } from '../access/role-bindings';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import type { IdentityProviderRow, UserRow } from '../store/schema';
import { completeSignIn } from './sign-in';

/** Who the provider says the user is. */
export interface ExternalIdentity {
  /** The provider's stable ID for the user: the OIDC `sub`, the LDAP entry's DN. */
  subject: string;
  /** The login name the user gets at their first sign-in (made to fit Meridian's usernames). */
  username: string;
  /** A verified e-mail address, or null. */
  email: string | null;
  displayName: string;
  /** What the role mappings match: the role claim's values (OIDC), the groups' DNs (LDAP). */
  memberships: string[];
  /**
   * The provider proved a second factor it is trusted to vouch for (an ID token `amr` value the
   * OIDC provider's `trusted_amr` lists), so Meridian's own MFA is not asked for.
   */
  mfaVouched?: boolean;
}

/** Unusable as a password hash: an account of a provider never signs in with a Meridian password. */
const NO_PASSWORD = '!external';

/**
 * The bindings the provider's mappings (or its default role, on every site) give: each role
 * matched on the union of its mappings' sites (every site when one of them says so), leaving out
 * sites deleted since. Roles deleted since give nothing; no role at all is a 403.
 */
async function mappedBindings(
  context: AppContext,
  provider: IdentityProviderRow,
  identity: ExternalIdentity,
): Promise<RoleBinding[]> {
  const fold = (value: string) => (provider.kind === 'ldap' ? value.toLowerCase() : value);
  const held = new Set(identity.memberships.map(fold));
  const matched = roleMappings(provider).filter((mapping) => held.has(fold(mapping.match)));
  if (matched.length === 0 && provider.default_role !== null)
    matched.push({ match: '', role: provider.default_role });
  const roleIds = await rolesNamed(
    context,
    matched.map((mapping) => mapping.role),
  );
  const sitesOf = new Map<string, Set<string> | null>();
  for (const { role, site_ids } of matched) {
    const roleId = roleIds.get(role);
    if (roleId === undefined) continue;
    const sites = sitesOf.has(roleId) ? sitesOf.get(roleId) : new Set<string>();
    sitesOf.set(roleId, sites === null || !site_ids ? null : new Set([...sites!, ...site_ids]));
  }
  const named = [...sitesOf.values()].flatMap((sites) => [...(sites ?? [])]);
  const existing = new Set(
    named.length === 0
      ? []
      : (await context.db.selectFrom('sites').select('id').where('id', 'in', named).execute()).map(
          (row) => row.id,
        ),
  );
  const bindings = [...sitesOf]
    .map(([roleId, sites]) => ({
      role_id: roleId,
      site_ids: sites === null ? null : [...sites].filter((id) => existing.has(id)).sort(),
    }))
    .filter((binding) => binding.site_ids === null || binding.site_ids.length > 0)
    .sort((a, b) => a.role_id.localeCompare(b.role_id));
  if (bindings.length === 0)
    throw problems.forbidden(
      'identity_not_allowed',
      `${identity.username} matches no role mapping of ${provider.name}, which gives no default role.`,
    );
  return bindings;
}

function checkDomain(provider: IdentityProviderRow, identity: ExternalIdentity): void {
  const domains = allowedDomains(provider);
  if (domains.length === 0) return;
  const domain = identity.email?.split('@').pop()?.toLowerCase();
  if (domain === undefined || !domains.includes(domain))
    throw problems.forbidden(
      'identity_not_allowed',
      `${identity.email ?? `${identity.username} (no verified e-mail address)`} is not in a domain ${provider.name} allows (${domains.join(', ')}).`,
    );
}

/** A username of Meridian's shape (3 to 64 of a-z, 0-9, `.`, `_`, `-`) made from the provider's. */
function usernameOf(proposed: string): string {
  const cleaned = proposed
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 64);
  return cleaned.length >= 3 ? cleaned : `${cleaned}-user`.replace(/^-/, 'x-');
}

async function findOrCreateUser(
  context: AppContext,
  provider: IdentityProviderRow,
  identity: ExternalIdentity,
  bindings: RoleBinding[],
): Promise<UserRow> {
  const { db } = context;
  const role = builtInRoleFor(bindings);
  const now = nowIso(context);
  const linked = await db
    .selectFrom('users')
    .selectAll()
    .where('identity_provider_id', '=', provider.id)
    .where('external_id', '=', identity.subject)
    .executeTakeFirst();
  if (linked) {
    if (linked.disabled)
      throw problems.forbidden('identity_not_allowed', `The account ${linked.username} is disabled.`);
    const changes = { role, email: identity.email, display_name: identity.displayName.slice(0, 100) };
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: now }))
        .where('id', '=', linked.id)
        .execute();
      await replaceBindings(trx, linked.id, bindings);
    });
    return { ...linked, ...changes, version: linked.version + 1, updated_at: now };
  }
  const username = usernameOf(identity.username);
  const taken = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
  if (taken)
    throw problems.conflict(
      'identity_conflict',
      `The username ${username} belongs to another account; an admin can rename it.`,
    );
  const row = {
    id: newId('usr'),
    username,
    display_name: identity.displayName.slice(0, 100),
    email: identity.email,
    role,
    disabled: 0,
    password_hash: NO_PASSWORD,
    created_at: now,
    updated_at: now,
    last_login_at: null,
    source: provider.kind,
    identity_provider_id: provider.id,
    external_id: identity.subject,
  };
  const created = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('users')
      .values(row)
      .onConflict((conflict) => conflict.doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    await replaceBindings(trx, row.id, bindings);
    return true;
  });
  // The same user's first sign-in through another request (on this instance or another) made the
  // account first: sign in to it (or, were the username someone else's meanwhile, refuse as above).
  if (!created) return findOrCreateUser(context, provider, identity, bindings);
  return db.selectFrom('users').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
}

/** Signs in the user the provider vouched for: the answer of a password sign-in. */
export async function signInExternalUser(
  context: AppContext,
  {
    req,
    res,
    provider,
    identity,
    rememberMe,
  }: {
    req: Request;
    res: Response;
    provider: IdentityProviderRow;
    identity: ExternalIdentity;
    /** Asked for a long session (`remember_me` of an LDAP sign-in). */
    rememberMe?: boolean | undefined;
  },
) {
  checkDomain(provider, identity);
  const bindings = await mappedBindings(context, provider, identity);
  const user = await findOrCreateUser(context, provider, identity, bindings);
  return completeSignIn(context, {
    req,
    res,
    user,
    method: provider.kind,
    rememberMe,
    mfaSatisfied: identity.mfaVouched === true,
  });
}
