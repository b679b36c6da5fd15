import type { Role, Scope } from '../access/roles';
import type { UserRow } from '../store/schema';

/**
 * What a user's role bindings grant (access/role-bindings.ts), or an API token of theirs: the
 * scopes held on every site, and those held on particular sites only.
 */
export interface Access {
  /** Whether a binding covers every site (present and future). */
  allSites: boolean;
  /** The scopes held on every site. */
  everywhere: ReadonlySet<Scope>;
  /** Each site a binding names, with the scopes held there beyond `everywhere`. */
  bySite: ReadonlyMap<string, ReadonlySet<Scope>>;
  /**
   * The scopes held at all: `everywhere`, and those of bindings limited to sites, even to none
   * (an operator of no site yet still manages their own API tokens, and sees no device).
   */
  held: ReadonlySet<Scope>;
}

/** Who is making a request, worked out once by authenticate.ts. */
export interface Principal {
  user: UserRow;
  /** The user's built-in role as the API shows it (`admin` only for holders of the admin role). */
  role: Role;
  authMethod: 'session' | 'api_token';
  sessionId: string | null;
  apiTokenId: string | null;
  /** The scopes held on any site. */
  scopes: ReadonlySet<Scope>;
  /**
   * The sites the request may act on; `null` means every site. authenticate.ts narrows it to the
   * sites where the principal holds every scope the operation needs (see `forOperation`).
   */
  siteIds: readonly string[] | null;
  access: Access;
  /**
   * A role of the user requires MFA and they have not enrolled: authenticate.ts refuses all but
   * enrolment (and seeing who they are, their sessions, signing out) with 403 mfa_enrollment_required.
   */
  mfaEnrollmentRequired: boolean;
}

/** The device whose agent is calling an agent route, worked out once by authenticate.ts. */
export interface AgentPrincipal {
  deviceId: string;
  siteId: string;
  /** The access token used (agent_tokens.id). */
  tokenId: string;
}

declare global {
  namespace Express {
    interface Request {
      principal?: Principal;
      agent?: AgentPrincipal;
    }
  }
}

/** The authenticated caller of a route the spec marks as authenticated. */
export function principalOf(req: { principal?: Principal | undefined }): Principal {
  if (!req.principal) throw new Error('principalOf called on a route without authentication');
  return req.principal;
}

/** The calling device of a route the spec marks as an agent route (`agentAuth`). */
export function agentOf(req: { agent?: AgentPrincipal | undefined }): AgentPrincipal {
  if (!req.agent) throw new Error('agentOf called on a route without agent authentication');
  return req.agent;
}

/** Narrows a query to rows of the principal's sites (every site for admins). */
export function visibleSiteIds(principal: Principal): readonly string[] | null {
  if (principal.siteIds === null) return null;
  // `in ()` is not valid SQL: an empty list becomes one id that cannot exist.
  return principal.siteIds.length > 0 ? principal.siteIds : [''];
}

export function canSeeSite(principal: Principal, siteId: string): boolean {
  return principal.siteIds === null || principal.siteIds.includes(siteId);
}

/**
 * The principal as an operation needing `required` sees it: its sites are those where it holds
 * every one of those scopes, from bindings on every site or on that site (`null`: every site).
 * With no scope required, the sites its bindings cover.
 */
export function forOperation(principal: Principal, required: readonly Scope[]): Principal {
  if (required.length === 0) return principal;
  const { everywhere, bySite } = principal.access;
  if (required.every((scope) => everywhere.has(scope))) return { ...principal, siteIds: null };
  const siteIds = [...bySite]
    .filter(([, scopes]) => required.every((scope) => everywhere.has(scope) || scopes.has(scope)))
    .map(([siteId]) => siteId);
  return { ...principal, siteIds };
}
