/**
 * Removes secrets from what is about to be logged: credential headers and secret-looking fields
 * are replaced whole, and every secret Meridian issues (SECRET_PREFIXES) is masked wherever it
 * appears, in URLs and free text too.
 */

/**
 * The prefix of every secret Meridian issues. The server makes them in
 * server-stub/src/auth/secrets.ts (`SECRET_KINDS`); sdk/test/redact.test.ts fails when it issues
 * one this list lacks, or when an example of the spec shows a secret that is not masked.
 */
export const SECRET_PREFIXES = {
  mst: 'operator session token',
  mtk: 'API token',
  mrt: 'device registration token',
  mec: 'enrolment code',
  mpt: 'enrolment poll token',
  mat: 'agent access token',
  mrf: 'agent refresh token',
  mmc: 'MFA challenge token',
  mpr: 'password reset token',
  whsec: 'webhook signing secret',
} as const;

const SENSITIVE_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|(password|secret|token|recovery_code)$/i;
const TOKEN = new RegExp(`\\b(${Object.keys(SECRET_PREFIXES).join('|')})_[A-Za-z0-9+/=_-]+`, 'g');
export const REDACTED = '[redacted]';

function redactString(value: string): string {
  return value.replace(TOKEN, `$1_${REDACTED}`);
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (value instanceof Headers) return redact(Object.fromEntries(value), depth);
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] =
      SENSITIVE_KEY.test(key) && item !== undefined && item !== null ? REDACTED : redact(item, depth + 1);
  }
  return result;
}
