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

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/** The authenticated caller of a route the spec marks as authenticated. */
export function principalOf(req: { principal?: Principal | undefined }): Principal {
  if (!req.principal) throw new Error('principalOf called on a route without authentication');
  return req.principal;
}

export function canSeeSite(principal: Principal, siteId: string): boolean {
  return principal.siteIds === null || principal.siteIds.includes(siteId);
}
