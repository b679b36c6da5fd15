import { initServer } from '@ts-rest/express';
import { isoAfter, type AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { hashSecret, newSecret } from '../auth/secrets';
import { paginate } from '../http/pagination';
import { serverUrl } from '../http/server-url';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import type { EnrollmentCodeRow } from '../store/schema';
import { toEnrollmentCode, whereCodeStatus } from './enrollment-store';
import { findVisibleSite } from './sites-store';
import { oneOrNotFound } from '../store/found';

const DEFAULT_TTL_SECONDS = 7 * 24 * 60 * 60;
const MAX_TTL_MS = 90 * 24 * 60 * 60 * 1000;
/** Enough of the code to recognise it in a list; far too little to guess the rest. */
const PREFIX_LENGTH = 9;

/** Commands running the install scripts (lifecycle/install-scripts.ts) rendered for this code. */
function installCommands(server: string, code: string) {
  const sh = `curl -fsSL '${server}/v1/agent/install.sh?code=${code}' | sudo sh`;
  return [
    { platform: 'linux' as const, shell: 'sh' as const, command: sh },
    { platform: 'macos' as const, shell: 'sh' as const, command: sh },
    {
      platform: 'windows' as const,
      shell: 'powershell' as const,
      command: `iwr -useb '${server}/v1/agent/install.ps1?code=${code}' | iex`,
    },
  ];
}

export function enrollmentCodesHandlers(context: AppContext) {
  const { db } = context;

  async function findCode(siteId: string, codeId: string): Promise<EnrollmentCodeRow> {
    return oneOrNotFound(
      db.selectFrom('enrollment_codes').selectAll().where('id', '=', codeId).where('site_id', '=', siteId),
      'enrollment code',
      codeId,
    );
  }

  return initServer().router(contract.enrollmentCodes, {
    listEnrollmentCodes: async ({ params, query, req }) => {
      const site = await findVisibleSite(context, principalOf(req), params.site_id);
      const now = context.now().toISOString();
      const body = await paginate(
        query,
        db
          .selectFrom('enrollment_codes')
          .selectAll()
          .where('site_id', '=', site.id)
          .$if(query.status !== undefined, (qb) => qb.where(whereCodeStatus(query.status!, now))),
        (row) => toEnrollmentCode(row, now),
      );
      return { status: 200, body };
    },

    createEnrollmentCode: async ({ params, body, req }) => {
      const principal = principalOf(req);
      const site = await findVisibleSite(context, principal, params.site_id);
      const now = context.now();
      const expiresAt = body.expires_at ?? isoAfter(context, DEFAULT_TTL_SECONDS);
      const ttl = Date.parse(expiresAt) - now.getTime();
      if (ttl <= 0) throw problems.expiryInPast();
      if (ttl > MAX_TTL_MS)
        throw problems.unprocessable(
          'expiry_too_far',
          'expires_at may be at most 90 days away; create a new code later.',
        );
      const code = newSecret('mec');
      const row: EnrollmentCodeRow = {
        id: newId('enc'),
        site_id: site.id,
        label: body.label ?? '',
        code_hash: hashSecret(code),
        code_prefix: code.slice(0, PREFIX_LENGTH),
        auto_approve: body.auto_approve ? 1 : 0,
        expires_at: new Date(expiresAt).toISOString(),
        max_uses: body.max_uses ?? null,
        use_count: 0,
        created_by: principal.user.id,
        created_at: now.toISOString(),
        revoked_at: null,
      };
      await db.insertInto('enrollment_codes').values(row).execute();
      return {
        status: 201,
        body: {
          enrollment_code: toEnrollmentCode(row, now.toISOString()),
          code,
          install_commands: installCommands(serverUrl(context, req), code),
        },
      };
    },

    revokeEnrollmentCode: async ({ params, req }) => {
      const site = await findVisibleSite(context, principalOf(req), params.site_id);
      const code = await findCode(site.id, params.code_id);
      await db
        .updateTable('enrollment_codes')
        .set({ revoked_at: context.now().toISOString() })
        .where('id', '=', code.id)
        .where('revoked_at', 'is', null)
        .execute();
      return { status: 204, body: undefined };
    },
  });
}
