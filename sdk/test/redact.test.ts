/**
 * The logger's redaction knows every secret Meridian issues: each prefix is masked wherever it
 * appears, the server issues no kind the SDK's list lacks, and no secret shown in the spec's
 * examples survives redaction.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REDACTED, redact, SECRET_PREFIXES } from '../src/internal/utils/redact';
import { SECRET_KINDS } from '../../server-stub/src/auth/secrets';
import { spec } from '../../test/support/spec';

/** A ULID, the part after the prefix of an ID (`dev_01JD…`): not a secret. */
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const PREFIXED = /^([a-z]+)_([A-Za-z0-9+/=_-]{20,})$/;

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(stringsIn);
}

describe.each(Object.entries(SECRET_PREFIXES))('a %s_ secret (%s)', (prefix) => {
  // Made the way the server makes them (server-stub/src/auth/secrets.ts).
  const secret = `${prefix}_${randomBytes(32).toString('base64url')}`;
  const masked = `${prefix}_${REDACTED}`;

  it('is masked in text, URLs, fields of any name and headers', () => {
    const logged = redact({
      note: `rotated ${secret} today`,
      url: `https://meridian.example.com/v1/agent/enroll?code=${secret}`,
      code: secret,
      headers: new Headers({ 'X-Debug': secret }),
      list: [secret],
    });
    expect(JSON.stringify(logged)).not.toContain(secret.slice(prefix.length + 1));
    expect(logged).toEqual({
      note: `rotated ${masked} today`,
      url: `https://meridian.example.com/v1/agent/enroll?code=${masked}`,
      code: masked,
      headers: { 'x-debug': masked },
      list: [masked],
    });
  });
});

describe('the list of secret prefixes', () => {
  it('has every kind of secret the server issues', () => {
    expect(SECRET_KINDS.filter((kind) => !(kind in SECRET_PREFIXES))).toEqual([]);
  });

  it("masks every secret shown in the spec's examples", () => {
    const secrets = stringsIn(spec).filter((value) => {
      const match = PREFIXED.exec(value);
      // Random, so never all lowercase letters and underscores the way a problem code is
      // (identity_provider_unreachable).
      return match !== null && !ULID.test(match[2]!) && /[A-Z0-9]/.test(match[2]!);
    });
    // Agent access and refresh tokens, enrolment codes and poll tokens, sessions, API tokens…
    expect(new Set(secrets.map((secret) => secret.split('_')[0])).size).toBeGreaterThanOrEqual(7);
    expect(secrets.filter((secret) => redact(secret) === secret)).toEqual([]);
  });
});
