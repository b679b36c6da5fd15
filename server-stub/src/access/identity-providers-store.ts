/**
 * Identity providers as stored and as the API shows them: the kind's settings as JSON, the OIDC
 * client secret or LDAP bind password sealed like webhook secrets (never shown), the allowed
 * e-mail domains and the role mappings.
 */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type {
  IdentityProvider,
  IdentityProviderCreate,
  IdentityProviderUpdate,
  LdapSettings,
  LdapSettingsInput,
  OidcSettings,
  OidcSettingsInput,
} from '../generated/contract.gen';
import { problems } from '../http/problem';
import { seal, unseal } from '../http/replay-seal';
import { oneOrNotFound } from '../store/found';
import { assertSitesExist } from './users-store';
import type { IdentityProviderRow } from '../store/schema';

export type OidcConfig = z.infer<typeof OidcSettings>;
export type LdapConfig = z.infer<typeof LdapSettings>;
export type ProviderKind = IdentityProviderRow['kind'];
export interface RoleMapping {
  match: string;
  role: string;
  /** The sites the role is bound on; absent or null: every site. */
  site_ids?: string[] | null;
}

/** Sealed under the webhook secrets key, with a label of their own. */
const sealingKey = (context: AppContext): string =>
  `identity-provider-secret\0${context.webhooks.secretsKey}`;

/** The OIDC client secret or the LDAP bind password (null: an anonymous directory search). */
export const openSecret = (context: AppContext, row: IdentityProviderRow): string | null =>
  row.secret === null ? null : unseal(sealingKey(context), row.secret);

/** The OIDC settings (`trusted_amr` empty for providers stored before it existed). */
export const oidcConfig = (row: IdentityProviderRow): OidcConfig =>
  ({
    trusted_amr: [],
    ...(JSON.parse(row.settings) as Partial<OidcConfig>),
  }) as OidcConfig;
export const ldapConfig = (row: IdentityProviderRow): LdapConfig => JSON.parse(row.settings) as LdapConfig;
export const roleMappings = (row: IdentityProviderRow): RoleMapping[] =>
  JSON.parse(row.role_mappings) as RoleMapping[];
export const allowedDomains = (row: IdentityProviderRow): string[] =>
  JSON.parse(row.allowed_domains) as string[];

/** The provider as the API shows it: never its secret. */
export function toIdentityProvider(row: IdentityProviderRow): z.infer<typeof IdentityProvider> {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    enabled: row.enabled === 1,
    oidc: row.kind === 'oidc' ? oidcConfig(row) : null,
    ldap: row.kind === 'ldap' ? ldapConfig(row) : null,
    allowed_domains: allowedDomains(row),
    role_mappings: roleMappings(row),
    default_role: row.default_role,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function findIdentityProvider(context: AppContext, id: string): Promise<IdentityProviderRow> {
  return oneOrNotFound(
    context.db.selectFrom('identity_providers').selectAll().where('id', '=', id),
    'identity provider',
    id,
  );
}

/** The provider a sign-in names: 404 when it does not exist, is disabled, or is of the other kind. */
export async function signInProvider(
  context: AppContext,
  id: string,
  kind: ProviderKind,
): Promise<IdentityProviderRow> {
  const row = await context.db
    .selectFrom('identity_providers')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', kind)
    .where('enabled', '=', 1)
    .executeTakeFirst();
  if (!row) throw problems.notFound(`${kind === 'oidc' ? 'OpenID Connect' : 'LDAP'} provider`, id);
  return row;
}

type Input = Partial<z.infer<typeof IdentityProviderCreate>> & z.infer<typeof IdentityProviderUpdate>;

/** The roles of these names (built-in or custom) that exist, by name. */
export async function rolesNamed(
  context: AppContext,
  names: readonly string[],
): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await context.db
    .selectFrom('roles')
    .select(['id', 'name'])
    .where('name', 'in', [...new Set(names)])
    .execute();
  return new Map(rows.map((row) => [row.name, row.id]));
}

/**
 * Refuses (422) settings of the other kind than the provider's, missing settings of its own kind
 * at creation, and roles that do not exist.
 */
async function check(context: AppContext, kind: ProviderKind, body: Input, creating: boolean): Promise<void> {
  const other = kind === 'oidc' ? 'ldap' : 'oidc';
  const misplaced = [
    ...(body[other] === undefined
      ? []
      : [{ path: `/body/${other}`, message: `not for an ${kind} provider` }]),
    ...(creating && body[kind] === undefined
      ? [{ path: `/body/${kind}`, message: `required for an ${kind} provider` }]
      : []),
  ];
  if (misplaced.length > 0)
    throw problems.unprocessable(
      'provider_settings_mismatch',
      `An ${kind} provider takes \`${kind}\` settings only: see errors.`,
      misplaced,
    );
  const named = [
    ...(body.role_mappings ?? []).map((mapping, index) => ({
      path: `/body/role_mappings/${index}/role`,
      name: mapping.role,
    })),
    ...(body.default_role ? [{ path: '/body/default_role', name: body.default_role }] : []),
  ];
  const known = await rolesNamed(
    context,
    named.map((role) => role.name),
  );
  const mappings = body.role_mappings ?? [];
  const adminOnSites = mappings.findIndex((mapping) => mapping.role === 'admin' && mapping.site_ids);
  if (adminOnSites >= 0)
    throw problems.unprocessable(
      'admin_role_all_sites',
      'The admin role applies to every site: map it with site_ids null.',
      [{ path: `/body/role_mappings/${adminOnSites}/site_ids`, message: 'admin on sites' }],
    );
  await assertSitesExist(context, [...new Set(mappings.flatMap((mapping) => mapping.site_ids ?? []))]);
  const unknownRoles = named
    .filter((role) => !known.has(role.name))
    .map((role) => ({ path: role.path, message: role.name }));
  if (unknownRoles.length > 0)
    throw problems.unprocessable(
      'unknown_role',
      `No role is named ${unknownRoles.map((issue) => issue.message).join(', ')}.`,
      unknownRoles.map((issue) => ({ ...issue, message: 'no such role' })),
    );
}

function oidcColumns(context: AppContext, input: z.infer<typeof OidcSettingsInput>) {
  const { client_secret, ...settings } = input;
  const issuer = new URL(settings.issuer);
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer.hostname)))
    throw problems.unprocessable(
      'insecure_issuer',
      'The issuer must be an https URL (http only on a loopback address, for development).',
      [{ path: '/body/oidc/issuer', message: 'not https' }],
    );
  const config: OidcConfig = {
    issuer: settings.issuer,
    client_id: settings.client_id,
    scopes: ['openid', ...(settings.scopes ?? ['email', 'profile']).filter((scope) => scope !== 'openid')],
    role_claim: settings.role_claim ?? null,
    trusted_amr: settings.trusted_amr ?? [],
  };
  return { settings: JSON.stringify(config), secret: seal(sealingKey(context), client_secret) };
}

function ldapColumns(context: AppContext, input: z.infer<typeof LdapSettingsInput>) {
  const { bind_password, ...settings } = input;
  const bindDn = settings.bind_dn ?? null;
  if ((bindDn === null) !== (bind_password === undefined))
    throw problems.unprocessable(
      'ldap_bind_incomplete',
      'Send both ldap.bind_dn and ldap.bind_password to bind as a service account, or neither to search anonymously.',
      [{ path: `/body/ldap/${bindDn === null ? 'bind_dn' : 'bind_password'}`, message: 'missing' }],
    );
  const config: LdapConfig = {
    url: settings.url,
    bind_dn: bindDn,
    user_search_base: settings.user_search_base,
    user_search_filter: settings.user_search_filter ?? '(uid={username})',
    start_tls: settings.start_tls ?? false,
    tls_ca_certificate: settings.tls_ca_certificate ?? null,
  };
  return {
    settings: JSON.stringify(config),
    secret: bind_password === undefined ? null : seal(sealingKey(context), bind_password),
  };
}

/** The columns a create or an update writes, after the checks above. */
export async function providerColumns(
  context: AppContext,
  kind: ProviderKind,
  body: Input,
  creating: boolean,
) {
  await check(context, kind, body, creating);
  return {
    ...(body.name === undefined ? {} : { name: body.name }),
    ...(body.enabled === undefined ? {} : { enabled: body.enabled ? 1 : 0 }),
    ...(body.oidc === undefined ? {} : oidcColumns(context, body.oidc)),
    ...(body.ldap === undefined ? {} : ldapColumns(context, body.ldap)),
    ...(body.allowed_domains === undefined ? {} : { allowed_domains: JSON.stringify(body.allowed_domains) }),
    ...(body.role_mappings === undefined ? {} : { role_mappings: JSON.stringify(body.role_mappings) }),
    ...(body.default_role === undefined ? {} : { default_role: body.default_role }),
  };
}

/** localhost, 127.0.0.0/8 and ::1: where a development provider may speak plain http. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
