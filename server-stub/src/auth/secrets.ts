import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The kinds of secret the server issues (the SDK's log redaction masks each: sdk/test/redact.test.ts). */
export const SECRET_KINDS = ['mst', 'mtk', 'mrt', 'mec', 'mpt', 'mat', 'mrf', 'mpr', 'mmc'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

/**
 * A new bearer secret: `mst_` sessions, `mtk_` API tokens, `mrt_` device registration, `mec_`
 * enrolment codes, `mpt_` enrolment poll tokens, `mat_` agent access `mrf_` agent refresh tokens and `mpr_`
 * password reset tokens, `mmc_` MFA challenges (a sign-in waiting for its second factor).
 */
export function newSecret(kind: SecretKind): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Secrets are 256 random bits, so a fast hash is enough to store them (no KDF needed, unlike
 * passwords); the database never holds a usable token.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
