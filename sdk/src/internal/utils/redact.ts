/**
 * Removes secrets from what is about to be logged: credential headers and secret-looking fields
 * are replaced whole, and Meridian token strings (`mst_…` sessions, `mtk_…` API tokens, `mrt_…`
 * registration tokens, `whsec_…` webhook secrets) are masked wherever they appear, in URLs too.
 */
const SENSITIVE_KEY = /^(authorization|proxy-authorization|cookie|set-cookie)$|(password|secret|token)$/i;
const TOKEN = /\b(mst|mtk|mrt|whsec)_[A-Za-z0-9+/=_-]+/g;
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
