/**
 * OpenID Connect sign-in with openid-client: the authorization code flow with PKCE, `state` and
 * `nonce`. The flow's secrets (state, nonce, PKCE verifier, where to land) travel in a sealed,
 * httpOnly cookie that lives 10 minutes and is bound to its provider, so any instance can finish a
 * flow another started and nothing is stored for flows never finished.
 */
import type { Request, Response } from 'express';
import * as oidc from 'openid-client';
import { oidcConfig, openSecret } from '../access/identity-providers-store';
import type { AppContext } from '../context';
import { isoAfter } from '../context';
import { ApiError, problems } from '../http/problem';
import { seal, unseal } from '../http/replay-seal';
import { serverUrlOf } from '../http/server-url';
import type { IdentityProviderRow } from '../store/schema';
import type { ExternalIdentity } from './external-sign-in';

const FLOW_COOKIE = 'meridian_oidc';
const FLOW_SECONDS = 600;
const TIMEOUT_SECONDS = 10;
const DISCOVERY_MAX_AGE_MS = 60 * 60 * 1000;

interface Flow {
  provider_id: string;
  state: string;
  nonce: string;
  verifier: string;
  return_to: string;
  expires_at: string;
}

const sealingKey = (context: AppContext): string => `oidc-flow\0${context.webhooks.secretsKey}`;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/**
 * Where the provider's flow lives on this server as browsers reach it (MERIDIAN_PUBLIC_URL's, with
 * its path prefix, when set): the callback is under it, and the flow cookie's path is its path.
 */
const flowUrl = (context: AppContext, req: Request, provider: IdentityProviderRow): URL =>
  serverUrlOf(context, req, `/v1/auth/oidc/${provider.id}/`);

/** Whether the caller is a browser navigating (it prefers HTML to JSON): it gets redirects. */
export const wantsRedirect = (req: Request): boolean =>
  req.accepts(['application/json', 'text/html']) === 'text/html';

/** The provider's configuration, read from its discovery document now. */
async function readDiscovery(
  context: AppContext,
  provider: IdentityProviderRow,
): Promise<oidc.Configuration> {
  const settings = oidcConfig(provider);
  const issuer = new URL(settings.issuer);
  try {
    return await oidc.discovery(
      issuer,
      settings.client_id,
      undefined,
      oidc.ClientSecretBasic(openSecret(context, provider) ?? ''),
      {
        timeout: TIMEOUT_SECONDS,
        // Plain http only for a loopback issuer, which the settings already insist on.
        ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
      },
    );
  } catch (error) {
    throw new ApiError(
      502,
      'identity_provider_unreachable',
      'Bad Gateway',
      `The discovery document of ${settings.issuer} could not be read: ${messageOf(error)}`.slice(0, 1000),
    );
  }
}

interface CachedDiscovery {
  /** The provider's row version it was read for: any change of the provider reads it again. */
  version: number;
  readAt: number;
  configuration: Promise<oidc.Configuration>;
}

/** Each server's discovery documents, by provider. */
const discoveries = new WeakMap<AppContext, Map<string, CachedDiscovery>>();

/**
 * The provider's configuration, from its discovery document as read at most once an hour per
 * provider and instance, and again as soon as the provider changes (its row's version, read at
 * each sign-in, so a change on another instance counts too). A failed read is not kept. The keys
 * (JWKS) openid-client fetches itself, again when a token names a key it does not know.
 */
function discover(context: AppContext, provider: IdentityProviderRow): Promise<oidc.Configuration> {
  const cache = discoveries.get(context) ?? new Map<string, CachedDiscovery>();
  discoveries.set(context, cache);
  const now = context.now().getTime();
  const cached = cache.get(provider.id);
  if (cached && cached.version === provider.version && now - cached.readAt < DISCOVERY_MAX_AGE_MS)
    return cached.configuration;
  const configuration = readDiscovery(context, provider);
  const entry = { version: provider.version, readAt: now, configuration };
  cache.set(provider.id, entry);
  configuration.catch(() => {
    if (cache.get(provider.id) === entry) cache.delete(provider.id);
  });
  return configuration;
}

/** Starts a flow: the authorization URL to send the browser to, and the flow cookie set. */
export async function startFlow(
  context: AppContext,
  {
    req,
    res,
    provider,
    returnTo,
  }: { req: Request; res: Response; provider: IdentityProviderRow; returnTo: string },
) {
  const config = await discover(context, provider);
  const flow: Flow = {
    provider_id: provider.id,
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    verifier: oidc.randomPKCECodeVerifier(),
    return_to: returnTo,
    expires_at: isoAfter(context, FLOW_SECONDS),
  };
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: new URL('callback', flowUrl(context, req, provider)).href,
    scope: oidcConfig(provider).scopes.join(' '),
    code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: 'S256',
    state: flow.state,
    nonce: flow.nonce,
  });
  res.cookie(FLOW_COOKIE, seal(sealingKey(context), JSON.stringify(flow)), {
    httpOnly: true,
    // Lax: the provider's redirect back is a top-level navigation from its site.
    sameSite: 'lax',
    secure: req.secure,
    path: flowUrl(context, req, provider).pathname,
    maxAge: FLOW_SECONDS * 1000,
  });
  return { authorizationUrl: url.href, expiresAt: flow.expires_at };
}

const invalidState = (why: string) =>
  problems.badRequest('oidc_state_invalid', `This sign-in cannot be finished: ${why}. Start it again.`);

/** The flow the cookie holds, if it is this provider's, unexpired, and the one `state` names. */
function flowOf(
  context: AppContext,
  req: Request,
  provider: IdentityProviderRow,
  state: string | undefined,
): Flow {
  const sealed = (req.cookies as Record<string, string | undefined>)[FLOW_COOKIE];
  if (sealed === undefined)
    throw invalidState('no sign-in was started in this browser (no meridian_oidc cookie)');
  let flow: Flow;
  try {
    flow = JSON.parse(unseal(sealingKey(context), sealed)) as Flow;
  } catch {
    throw invalidState('the meridian_oidc cookie is not one this server made');
  }
  if (flow.provider_id !== provider.id) throw invalidState('it was started with another provider');
  if (flow.expires_at <= context.now().toISOString())
    throw invalidState('it was started over 10 minutes ago');
  if (state !== flow.state) throw invalidState('the state does not match the one sent to the provider');
  return flow;
}

const signInFailed = (detail: string) =>
  problems.unauthenticated('oidc_sign_in_failed', detail.slice(0, 1000));

/** The values of the claim the role mappings match (a string, or a list of them). */
function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * Finishes a flow: checks the cookie and `state`, exchanges the code (PKCE verifier, nonce and ID
 * token checked by openid-client), reads the user info, and says who the user is and where the
 * browser goes next.
 */
export async function finishFlow(
  context: AppContext,
  {
    req,
    res,
    provider,
    query,
  }: {
    req: Request;
    res: Response;
    provider: IdentityProviderRow;
    query: { state?: string | undefined; error?: string | undefined; error_description?: string | undefined };
  },
): Promise<{ identity: ExternalIdentity; returnTo: string }> {
  const flow = flowOf(context, req, provider, query.state);
  res.clearCookie(FLOW_COOKIE, { path: flowUrl(context, req, provider).pathname });
  if (query.error !== undefined)
    throw signInFailed(
      `The provider answered ${query.error}${query.error_description ? `: ${query.error_description}` : ''}.`,
    );
  const config = await discover(context, provider);
  let claims: Record<string, unknown>;
  let amr: string[];
  try {
    const tokens = await oidc.authorizationCodeGrant(config, serverUrlOf(context, req, req.originalUrl), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims()!;
    const userInfo =
      config.serverMetadata().userinfo_endpoint === undefined
        ? {}
        : await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
    claims = { ...userInfo, ...idToken };
    // How the user authenticated, from the signed ID token only (never the user info).
    amr = claimValues(idToken.amr);
  } catch (error) {
    throw signInFailed(`The provider's answer was refused: ${messageOf(error)}`);
  }
  const subject = String(claims.sub);
  const email = typeof claims.email === 'string' && claims.email_verified !== false ? claims.email : null;
  const username =
    (typeof claims.preferred_username === 'string' && claims.preferred_username) ||
    email?.split('@')[0] ||
    subject;
  const { role_claim: roleClaim, trusted_amr: trustedAmr } = oidcConfig(provider);
  return {
    identity: {
      subject,
      username,
      email,
      displayName: typeof claims.name === 'string' ? claims.name : username,
      memberships: roleClaim === null ? [] : claimValues(claims[roleClaim]),
      mfaVouched: amr.some((method) => trustedAmr.includes(method)),
    },
    returnTo: flow.return_to,
  };
}

export interface MfaChallenge {
  token: string;
  expires_at: string;
}

/**
 * Where a browser whose sign-in waits for Meridian's second factor lands: `return_to` with the
 * challenge in the fragment, which browsers never send to a server (so no log or `Referer` holds
 * it); the page there completes it with POST /v1/auth/mfa/verify or a passkey.
 */
export function withMfaChallenge(returnTo: string, challenge: MfaChallenge): string {
  const url = new URL(returnTo, 'http://return-to.invalid');
  url.hash = new URLSearchParams({
    mfa_challenge: challenge.token,
    expires_at: challenge.expires_at,
  }).toString();
  return `${url.pathname}${url.search}${url.hash}`;
}

/** Reads the issuer's discovery document: what failed, or null. */
export async function testIssuer(context: AppContext, provider: IdentityProviderRow): Promise<string | null> {
  try {
    await readDiscovery(context, provider);
    return null;
  } catch (error) {
    return messageOf(error);
  }
}
