/**
 * Authentication and authorisation for every contract route, driven by the spec: the route's
 * metadata says whether it is public, whether it is an agent route, and which scopes it needs.
 *
 * Operator routes: `Authorization: Bearer mst_…` (session) or `mtk_…` (API token), else the
 * `meridian_session` cookie, which on unsafe methods also needs `X-CSRF-Token`.
 * Agent routes: `Authorization: Bearer mat_…` (a device's access token) and nothing else.
 * Each kind of credential is refused on the other kind of route with its own 401 code.
 */
import type { Request, RequestHandler } from 'express';
import { accessOf, reachOf, tokenAccess } from '../access/role-bindings';
import { rolesRequireMfa, type Scope } from '../access/roles';
import { hashSecret, safeEqual } from '../auth/secrets';
import { sessionEndsAt } from '../auth/sessions';
import type { AppContext } from '../context';
import type { UserRow } from '../store/schema';
import { authenticateAgent } from '../agent/credentials';
import { cachePerServer } from '../runtime/credential-cache';
import { type AgentPrincipal, forOperation, type Principal } from './principal';
import { problems } from './problem';
import { routeMetadata } from './route';

export const SESSION_COOKIE = 'meridian_session';
export const CSRF_COOKIE = 'meridian_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** last_used_at is a hint, not an audit trail: write it at most once a minute per token or session. */
const LAST_USED_GRANULARITY_MS = 60_000;
/**
 * What a user who must enrol in MFA (a role of theirs has require_mfa) may still do until they
 * have: enrol, see who they are, look at their sessions and sign out.
 */
const ALLOWED_BEFORE_MFA_ENROLMENT = new Set([
  'setupTotp',
  'confirmTotp',
  'getCurrentUser',
  'logout',
  'listSessions',
]);

/**
 * Sessions and API tokens verified in the last few seconds, by the hash of the secret
 * (runtime/credential-cache.ts), with what the request needs of them: the principal, when the
 * credential expires, a session's CSRF token, when an API token was last marked used.
 */
interface Verified {
  principal: Principal;
  expiresAt: string | null;
  csrfToken: string | null;
  lastUsedAt: string | null;
}
/** The signal that makes every instance forget the sessions and API tokens it verified. */
const OPERATOR_CREDENTIALS_TOPIC = 'operator-credentials';
const verifiedCredentials = cachePerServer<Verified>(OPERATOR_CREDENTIALS_TOPIC);

/**
 * Forgets every verified session and API token, on this instance at once and on the others (on one
 * PostgreSQL database) as soon as the signal reaches them: called, once the change is committed, by
 * whatever ends a session, revokes a token, or changes a user (role bindings, disabled, password,
 * profile) or a role, or deletes a user or a site, so that the next request sees the change.
 */
export function forgetOperatorCredentials(context: AppContext): void {
  context.signals.notify(OPERATOR_CREDENTIALS_TOPIC);
}

/** A credential verified in the last few seconds, unless it has expired since. */
function stillVerified(context: AppContext, hash: string): Verified | undefined {
  const verified = verifiedCredentials(context).get(hash);
  return verified && (verified.expiresAt === null || verified.expiresAt > context.now().toISOString())
    ? verified
    : undefined;
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  // An empty "Bearer" is what API consoles (Scalar's Try-It among them) send before a token is
  // pasted: treat it as no Authorization at all, so the session cookie can still apply.
  if (header === undefined || /^Bearer\s*$/.test(header)) return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header);
  if (!match)
    throw problems.unauthenticated(
      'malformed_authorization',
      'The Authorization header must be "Bearer <token>".',
    );
  return match[1];
}

async function activeUser(context: AppContext, userId: string): Promise<UserRow> {
  const user = await context.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!user || user.disabled)
    throw problems.unauthenticated(
      'user_disabled',
      'The account behind these credentials is disabled or deleted.',
    );
  return user;
}

/** Whether a role of the user requires MFA and they have not turned it on yet. */
async function mfaEnrollmentRequired(context: AppContext, user: UserRow): Promise<boolean> {
  return user.mfa_enabled_at === null && (await rolesRequireMfa(context, user.id));
}

/** A session cookie on an unsafe method must come with its CSRF token in X-CSRF-Token. */
function checkCsrf(req: Request, via: 'bearer' | 'cookie', csrfToken: string): void {
  if (via === 'bearer' || SAFE_METHODS.has(req.method)) return;
  const sent = req.get('X-CSRF-Token');
  if (!sent || !safeEqual(sent, csrfToken)) {
    throw problems.forbidden(
      'csrf_token_invalid',
      'Requests made with the session cookie must send the meridian_csrf cookie value in X-CSRF-Token.',
    );
  }
}

async function fromSession(
  context: AppContext,
  token: string,
  via: 'bearer' | 'cookie',
  req: Request,
): Promise<Principal> {
  const hash = hashSecret(token);
  const verified = stillVerified(context, hash);
  if (verified) {
    checkCsrf(req, via, verified.csrfToken!);
    verified.lastUsedAt = await markUsed(
      context,
      'sessions',
      verified.principal.sessionId!,
      verified.lastUsedAt,
    );
    return verified.principal;
  }
  const { stamp } = verifiedCredentials(context);
  const session = await context.db
    .selectFrom('sessions')
    .selectAll()
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!session || sessionEndsAt(context, session) <= context.now().toISOString()) {
    throw problems.unauthenticated(
      'session_expired',
      'The session has ended or never existed; sign in again.',
    );
  }
  checkCsrf(req, via, session.csrf_token);
  const user = await activeUser(context, session.user_id);
  const access = await accessOf(context, user.id);
  const principal: Principal = {
    user,
    role: user.role,
    authMethod: 'session',
    sessionId: session.id,
    apiTokenId: null,
    ...reachOf(access),
    access,
    mfaEnrollmentRequired: await mfaEnrollmentRequired(context, user),
  };
  const lastUsedAt = await markUsed(context, 'sessions', session.id, session.last_used_at);
  verifiedCredentials(context).set(
    hash,
    {
      principal,
      expiresAt: sessionEndsAt(context, { ...session, last_used_at: lastUsedAt }),
      csrfToken: session.csrf_token,
      lastUsedAt,
    },
    stamp,
  );
  return principal;
}

/** Marks an API token or a session used, at most once a minute; returns when it was last marked. */
async function markUsed(
  context: AppContext,
  table: 'api_tokens' | 'sessions',
  id: string,
  lastUsedAt: string | null,
): Promise<string | null> {
  const now = context.now();
  if (lastUsedAt && now.getTime() - Date.parse(lastUsedAt) < LAST_USED_GRANULARITY_MS) return lastUsedAt;
  await context.db.updateTable(table).set({ last_used_at: now.toISOString() }).where('id', '=', id).execute();
  return now.toISOString();
}

async function fromApiToken(context: AppContext, token: string): Promise<Principal> {
  const hash = hashSecret(token);
  const verified = stillVerified(context, hash);
  if (verified) {
    verified.lastUsedAt = await markUsed(
      context,
      'api_tokens',
      verified.principal.apiTokenId!,
      verified.lastUsedAt,
    );
    return verified.principal;
  }
  const { stamp } = verifiedCredentials(context);
  const row = await context.db
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  const now = context.now();
  if (!row) throw problems.invalidToken('API token');
  if (row.revoked_at) throw problems.unauthenticated('token_revoked', 'The API token was revoked.');
  if (row.expires_at && row.expires_at <= now.toISOString())
    throw problems.tokenExpired('API token', 'create a new one');
  const user = await activeUser(context, row.user_id);
  const lastUsedAt = await markUsed(context, 'api_tokens', row.id, row.last_used_at);
  // A token never does more than its creator can do now (on each site), whatever it was given.
  const access = tokenAccess(await accessOf(context, user.id), JSON.parse(row.scopes) as Scope[]);
  const principal: Principal = {
    user,
    role: user.role,
    authMethod: 'api_token',
    sessionId: null,
    apiTokenId: row.id,
    ...reachOf(access),
    access,
    mfaEnrollmentRequired: await mfaEnrollmentRequired(context, user),
  };
  verifiedCredentials(context).set(
    hash,
    {
      principal,
      expiresAt: row.expires_at,
      csrfToken: null,
      lastUsedAt,
    },
    stamp,
  );
  return principal;
}

const sessionCookie = (req: Request): string | undefined =>
  (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];

async function resolvePrincipal(context: AppContext, req: Request): Promise<Principal | undefined> {
  const bearer = bearerToken(req);
  if (bearer !== undefined) {
    if (bearer.startsWith('mst_')) return fromSession(context, bearer, 'bearer', req);
    if (bearer.startsWith('mtk_')) return fromApiToken(context, bearer);
    if (bearer.startsWith('mat_')) {
      throw problems.unauthenticated(
        'operator_credentials_required',
        'A device access token only works on the agent endpoints (/v1/agent/...); sign in or use an API token.',
      );
    }
    if (bearer.startsWith('mmc_')) {
      throw problems.unauthenticated(
        'mfa_pending',
        'An MFA challenge token is no session: send it with a code to POST /v1/auth/mfa/verify, which answers with the session.',
      );
    }
    throw problems.invalidToken('Meridian session (mst_) or API token (mtk_)');
  }
  const cookie = sessionCookie(req);
  if (cookie) return fromSession(context, cookie, 'cookie', req);
  return undefined;
}

async function resolveAgent(context: AppContext, req: Request): Promise<AgentPrincipal> {
  const bearer = bearerToken(req);
  const operator =
    bearer === undefined
      ? sessionCookie(req) !== undefined
      : bearer.startsWith('mst_') || bearer.startsWith('mtk_');
  if (operator) {
    throw problems.unauthenticated(
      'agent_credentials_required',
      "Agent endpoints take a device's access token (mat_), never an operator's session or API token.",
    );
  }
  if (bearer === undefined)
    throw problems.unauthenticated(
      'unauthenticated',
      "Send the device's access token as Authorization: Bearer <token>.",
    );
  if (!bearer.startsWith('mat_')) throw problems.invalidToken('Meridian device access token (mat_)');
  return authenticateAgent(context, bearer);
}

export function authenticate(context: AppContext): RequestHandler {
  return async (req, _res, next) => {
    try {
      const metadata = routeMetadata(req);
      if (metadata.public) {
        // Open to anyone, but taking a device's credentials too (the agent download): checked when
        // sent, and operator credentials are refused there as on every agent route.
        if (metadata.agent && (req.headers.authorization !== undefined || sessionCookie(req) !== undefined))
          req.agent = await resolveAgent(context, req);
        return next();
      }
      if (metadata.agent) {
        req.agent = await resolveAgent(context, req);
        return next();
      }
      const principal = await resolvePrincipal(context, req);
      if (!principal) throw problems.unauthenticated();
      // Known even when refused below: the request counts against this principal's rate limit.
      // Its sites are those where it holds every scope the operation needs (principal.ts).
      req.principal = forOperation(principal, metadata.scopes as Scope[]);
      if (principal.mfaEnrollmentRequired && !ALLOWED_BEFORE_MFA_ENROLMENT.has(metadata.operationId)) {
        throw problems.forbidden(
          'mfa_enrollment_required',
          'A role of yours requires multi-factor authentication: enrol first (POST /v1/auth/mfa/totp/setup, then …/totp/confirm with a code).',
        );
      }
      const missing = metadata.scopes.filter((scope) => !principal.scopes.has(scope as Scope));
      if (missing.length > 0) {
        throw problems.forbidden(
          'insufficient_scope',
          `This operation needs the scope ${missing.join(', ')}, which your credentials lack.`,
        );
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}
