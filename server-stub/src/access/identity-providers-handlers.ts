import { initServer } from '@ts-rest/express';
import { authenticateWithDirectory, testDirectory } from '../auth/ldap';
import { signInExternalUser } from '../auth/external-sign-in';
import {
  finishFlow,
  type MfaChallenge,
  startFlow,
  testIssuer,
  wantsRedirect,
  withMfaChallenge,
} from '../auth/oidc';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { ApiError } from '../http/problem';
import { newId } from '../store/ids';
import {
  findIdentityProvider,
  providerColumns,
  signInProvider,
  toIdentityProvider,
} from './identity-providers-store';

export function identityProvidersHandlers(context: AppContext) {
  const { db } = context;

  const provider = versionedRoutes(context, {
    table: 'identity_providers',
    read: ({ params }: RouteArgs<{ provider_id: string }>) =>
      findIdentityProvider(context, params.provider_id),
    present: toIdentityProvider,
  });

  return initServer().router(contract.identityProviders, {
    listIdentityProviders: async ({ query }) => ({
      status: 200,
      body: await paginate(query, db.selectFrom('identity_providers').selectAll(), toIdentityProvider),
    }),

    createIdentityProvider: async ({ body, res }) => {
      const now = nowIso(context);
      const row = {
        id: newId('idp'),
        name: body.name,
        kind: body.kind,
        enabled: 1,
        settings: '{}',
        secret: null,
        allowed_domains: '[]',
        role_mappings: '[]',
        default_role: null,
        ...(await providerColumns(context, body.kind, body, true)),
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('identity_providers').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: toIdentityProvider({ ...row, version: 1 }) };
    },

    getIdentityProvider: provider.get,

    updateIdentityProvider: provider.update(
      ({ body }: HandlerArgs<typeof contract.identityProviders.updateIdentityProvider>, current) =>
        providerColumns(context, current.kind, body, false),
    ),

    deleteIdentityProvider: async ({ params }) => {
      await findIdentityProvider(context, params.provider_id);
      await db.deleteFrom('identity_providers').where('id', '=', params.provider_id).execute();
      return { status: 204, body: undefined };
    },

    testIdentityProvider: async ({ params }) => {
      const row = await findIdentityProvider(context, params.provider_id);
      const started = performance.now();
      const error = row.kind === 'oidc' ? await testIssuer(context, row) : await testDirectory(context, row);
      return {
        status: 200,
        body: {
          succeeded: error === null,
          latency_ms: Math.round(performance.now() - started),
          error: error?.slice(0, 1000) ?? null,
        },
      };
    },

    startOidcSignIn: async ({ params, query, req, res }) => {
      const row = await signInProvider(context, params.provider_id, 'oidc');
      const flow = await startFlow(context, {
        req,
        res,
        provider: row,
        returnTo: query.return_to ?? '/docs',
      });
      if (wantsRedirect(req)) {
        res.setHeader('Location', flow.authorizationUrl);
        return { status: 302, body: undefined };
      }
      return { status: 200, body: { authorization_url: flow.authorizationUrl, expires_at: flow.expiresAt } };
    },

    finishOidcSignIn: async ({ params, query, req, res }) => {
      const row = await signInProvider(context, params.provider_id, 'oidc');
      const { identity, returnTo } = await finishFlow(context, { req, res, provider: row, query });
      const session = await signInExternalUser(context, { req, res, provider: row, identity }).catch(
        (error: unknown) => {
          if (!(wantsRedirect(req) && error instanceof ApiError && error.code === 'mfa_required'))
            throw error;
          return error;
        },
      );
      if (session instanceof ApiError) {
        res.setHeader(
          'Location',
          withMfaChallenge(returnTo, session.extensions.mfa_challenge as MfaChallenge),
        );
        return { status: 302, body: undefined };
      }
      if (wantsRedirect(req)) {
        res.setHeader('Location', returnTo);
        return { status: 302, body: undefined };
      }
      return { status: 200, body: session };
    },

    ldapLogin: async ({ params, body, req, res }) => {
      const row = await signInProvider(context, params.provider_id, 'ldap');
      const identity = await authenticateWithDirectory(context, row, body.username, body.password);
      const rememberMe = body.remember_me;
      return {
        status: 200,
        body: await signInExternalUser(context, { req, res, provider: row, identity, rememberMe }),
      };
    },
  });
}
