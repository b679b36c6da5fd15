import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { AppContext } from '../context';
import { CSRF_COOKIE, SESSION_COOKIE } from '../http/authenticate';
import { newId } from '../store/ids';
import type { SessionRow } from '../store/schema';
import { hashSecret, newSecret } from './secrets';

export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: string;
}

/** Where a sign-in came from, and whether it asked to be remembered. */
export interface SessionOrigin {
  req: Request;
  rememberMe?: boolean;
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** A User-Agent longer than this is cut (the API shows at most 512 characters). */
const USER_AGENT_MAX = 512;

export async function createSession(
  context: AppContext,
  userId: string,
  { req, rememberMe = false }: SessionOrigin,
): Promise<NewSession> {
  const token = newSecret('mst');
  const csrfToken = randomBytes(16).toString('hex');
  const now = context.now();
  const { lifetimeHours, rememberDays } = context.sessions;
  const lifetimeMs = rememberMe ? rememberDays * DAY_MS : lifetimeHours * HOUR_MS;
  const expiresAt = new Date(now.getTime() + lifetimeMs).toISOString();
  await context.db
    .insertInto('sessions')
    .values({
      id: newId('ses'),
      user_id: userId,
      token_hash: hashSecret(token),
      csrf_token: csrfToken,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      ip_address: req.ip ?? null,
      user_agent: req.get('user-agent')?.slice(0, USER_AGENT_MAX) ?? null,
      remember_me: rememberMe ? 1 : 0,
    })
    .execute();
  return { token, csrfToken, expiresAt };
}

/**
 * When a session ends: its absolute `expires_at`, or, unless remembered, the idle timeout after
 * its last use (or its start). Last use is written at most once a minute, so the idle timeout is
 * kept to within that minute.
 */
export function sessionEndsAt(
  context: AppContext,
  session: Pick<SessionRow, 'expires_at' | 'created_at' | 'last_used_at' | 'remember_me'>,
): string {
  if (session.remember_me === 1) return session.expires_at;
  const idleEnd =
    Date.parse(session.last_used_at ?? session.created_at) + context.sessions.idleMinutes * 60_000;
  return new Date(Math.min(idleEnd, Date.parse(session.expires_at))).toISOString();
}

/** The session cookie is httpOnly; the CSRF cookie is readable by the page so it can echo it. */
export function setSessionCookies(req: Request, res: Response, session: NewSession): void {
  const expires = new Date(session.expiresAt);
  res.cookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: '/',
    expires,
  });
  res.cookie(CSRF_COOKIE, session.csrfToken, {
    httpOnly: false,
    sameSite: 'strict',
    secure: req.secure,
    path: '/',
    expires,
  });
}

export function clearSessionCookies(res: Response): void {
  res.clearCookie(SESSION_COOKIE, { path: '/' });
  res.clearCookie(CSRF_COOKIE, { path: '/' });
}
