/**
 * TOTP (RFC 6238) with otpauth: SHA-1, 6 digits, 30-second steps, the defaults every
 * authenticator app reads from an `otpauth://` URI. Secrets are stored sealed (AES-256-GCM under
 * the server's secrets key, as webhook secrets are), since checking a code needs the secret itself.
 * A code is accepted once: the step it belongs to is recorded, and only codes of later steps are
 * accepted after it, by a conditional write (two requests racing with one code: one wins).
 */
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { AppContext } from '../context';
import { seal, unseal } from '../http/replay-seal';

const ISSUER = 'Meridian';
/** Codes of the step before and after the server's are accepted too (clock drift, slow typing). */
const WINDOW = 1;

const sealingKey = (context: AppContext): string => `totp-secret\0${context.webhooks.secretsKey}`;

const totpOf = (base32: string, username: string): TOTP =>
  new TOTP({ issuer: ISSUER, label: username, secret: Secret.fromBase32(base32) });

/** A new secret for `username`, stored (sealed) in place of one not yet confirmed. */
export async function startTotpSetup(context: AppContext, userId: string, username: string) {
  const secret = new Secret({ size: 20 });
  await context.db
    .insertInto('mfa_totp')
    .values({
      user_id: userId,
      secret: seal(sealingKey(context), secret.base32),
      created_at: context.now().toISOString(),
      last_used_step: null,
    })
    .onConflict((conflict) =>
      conflict.column('user_id').doUpdateSet((eb) => ({
        secret: eb.ref('excluded.secret'),
        created_at: eb.ref('excluded.created_at'),
        last_used_step: null,
      })),
    )
    .execute();
  const uri = totpOf(secret.base32, username).toString();
  return {
    secret: secret.base32,
    otpauth_uri: uri,
    qr_code_svg: await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
  };
}

/** Whether the user has a TOTP secret, confirmed or waiting for its first code. */
export async function hasTotpSecret(context: AppContext, userId: string): Promise<boolean> {
  const row = await context.db
    .selectFrom('mfa_totp')
    .select('user_id')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Whether `code` is the user's current code (give or take a step) and no code of its step or a
 * later one was accepted before; if so, it is recorded as used.
 */
export async function acceptTotpCode(context: AppContext, userId: string, code: string): Promise<boolean> {
  const row = await context.db
    .selectFrom('mfa_totp')
    .select('secret')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return false;
  const totp = totpOf(unseal(sealingKey(context), row.secret), userId);
  const timestamp = context.now().getTime();
  const delta = totp.validate({ token: code, timestamp, window: WINDOW });
  if (delta === null) return false;
  const step = totp.counter({ timestamp }) + delta;
  const used = await context.db
    .updateTable('mfa_totp')
    .set({ last_used_step: step })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return used.numUpdatedRows > 0n;
}
