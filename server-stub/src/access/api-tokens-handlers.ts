import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type ApiToken } from '../generated/contract.gen';
import { hashSecret, newSecret } from '../auth/secrets';
import { forgetOperatorCredentials } from '../http/authenticate';
import { paginate } from '../http/pagination';
import { principalOf, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { ApiTokenRow } from '../store/schema';
import type { Scope } from './roles';
import { oneOrNotFound } from '../store/found';

/** How much of the secret is kept in clear, to recognise a token in a list. */
const PREFIX_LENGTH = 10;

function toApiToken(row: ApiTokenRow): z.infer<typeof ApiToken> {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: JSON.parse(row.scopes) as Scope[],
    user_id: row.user_id,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

/** Admins manage every token; everyone else only their own, and others' do not exist for them. */
const isAdmin = (principal: Principal): boolean => principal.role === 'admin';

export function apiTokensHandlers(context: AppContext) {
  const { db } = context;

  async function findVisibleToken(principal: Principal, id: string): Promise<ApiTokenRow> {
    return oneOrNotFound(
      db
        .selectFrom('api_tokens')
        .selectAll()
        .where('id', '=', id)
        .$if(!isAdmin(principal), (qb) => qb.where('user_id', '=', principal.user.id)),
      'API token',
      id,
    );
  }

  return initServer().router(contract.apiTokens, {
    listApiTokens: async ({ query, req }) => {
      const principal = principalOf(req);
      const body = await paginate(
        query,
        whereEqual(db.selectFrom('api_tokens').selectAll(), { user_id: query.user_id }).$if(
          !isAdmin(principal),
          (qb) => qb.where('user_id', '=', principal.user.id),
        ),
        toApiToken,
      );
      return { status: 200, body };
    },

    createApiToken: async ({ body, req }) => {
      const principal = principalOf(req);
      const notHeld = body.scopes.filter((scope) => !principal.scopes.has(scope));
      if (notHeld.length > 0) {
        throw problems.unprocessable(
          'scope_not_held',
          `You cannot grant ${notHeld.join(', ')}: a token may only carry scopes you hold.`,
        );
      }
      const now = context.now().toISOString();
      if (body.expires_at !== undefined && new Date(body.expires_at).toISOString() <= now) {
        throw problems.expiryInPast();
      }
      const secret = newSecret('mtk');
      const row: ApiTokenRow = {
        id: newId('tok'),
        user_id: principal.user.id,
        name: body.name,
        prefix: secret.slice(0, PREFIX_LENGTH),
        token_hash: hashSecret(secret),
        scopes: JSON.stringify([...body.scopes].sort()),
        created_at: now,
        expires_at: body.expires_at === undefined ? null : new Date(body.expires_at).toISOString(),
        last_used_at: null,
        revoked_at: null,
      };
      await db.insertInto('api_tokens').values(row).execute();
      return { status: 201, body: { ...toApiToken(row), token: secret } };
    },

    getApiToken: async ({ params, req }) => ({
      status: 200,
      body: toApiToken(await findVisibleToken(principalOf(req), params.token_id)),
    }),

    revokeApiToken: async ({ params, req }) => {
      const row = await findVisibleToken(principalOf(req), params.token_id);
      if (!row.revoked_at)
        await db
          .updateTable('api_tokens')
          .set({ revoked_at: context.now().toISOString() })
          .where('id', '=', row.id)
          .execute();
      forgetOperatorCredentials(context);
      return { status: 204, body: undefined };
    },
  });
}
