import type { Role, Scope } from '../access/roles';
import type { UserRow } from '../store/schema';

/** Who is making a request, worked out once by authenticate.ts. */
export interface Principal {
  user: UserRow;
  role: Role;
  authMethod: 'session' | 'api_token';
  sessionId: string | null;
  apiTokenId: string | null;
  scopes: ReadonlySet<Scope>;
  /** The sites the principal may see; `null` means every site (admins). */
  siteIds: readonly string[] | null;
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
