import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { AppContext } from '../context';
import { CSRF_COOKIE, SESSION_COOKIE } from '../http/authenticate';
import { newId } from '../store/ids';
import { hashSecret, newSecret } from './secrets';

export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: string;
}

export async function createSession(context: AppContext, userId: string): Promise<NewSession> {
  const token = newSecret('mst');
  const csrfToken = randomBytes(16).toString('hex');
  const now = context.now();
  const expiresAt = new Date(now.getTime() + context.sessionTtlSeconds * 1000).toISOString();
  await context.db
    .insertInto('sessions')
    .values({
      id: newId('ses'),
      user_id: userId,
      token_hash: hashSecret(token),
      csrf_token: csrfToken,
      created_at: now.toISOString(),
      expires_at: expiresAt,
    })
    .execute();
  return { token, csrfToken, expiresAt };
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
