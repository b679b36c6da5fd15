/**
 * Security headers (helmet) on API answers, errors included, and the docs' own Content Security
 * Policy: scripts from the server's origin only, and a reference page without inline scripts.
 * docs/test/docs-browser.test.ts proves Scalar and Try-It work under it without a violation.
 */
import { describe, expect, it } from 'vitest';
import { useTestServer } from './support/use-test-server';

const t = useTestServer();

/** The directives of a Content Security Policy header, by name. */
function directives(policy: string | null): Record<string, string> {
  return Object.fromEntries(
    (policy ?? '').split(';').map((directive) => {
      const [name, ...values] = directive.trim().split(/\s+/);
      return [name!, values.join(' ')];
    }),
  );
}

describe('security headers', () => {
  it.each([
    ['an answer', '/v1/version'],
    ['a refusal', '/v1/users'],
    ['a 404', '/v1/no-such-thing'],
    ['the spec', '/openapi.json'],
  ])('are on %s (%s), with a CSP that loads nothing and frames nowhere', async (_, path) => {
    const response = await fetch(`${t.url}${path}`, { headers: { Authorization: `Bearer ${t.adminToken}` } });
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('X-Frame-Options')).toBe('DENY');
    expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(response.headers.get('Strict-Transport-Security')).toMatch(/^max-age=\d+/);
    expect(response.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    expect(response.headers.get('X-Powered-By')).toBeNull();
    expect(directives(response.headers.get('Content-Security-Policy'))).toEqual({
      'default-src': "'none'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
  });

  it('give the docs scripts and connections from this origin only, and no inline script', async () => {
    for (const path of ['/docs', '/docs/guides', '/docs/guides/errors']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status, path).toBe(200);
      const policy = directives(response.headers.get('Content-Security-Policy'));
      expect(policy, path).toMatchObject({
        'default-src': "'self'",
        'script-src': "'self' 'unsafe-eval'",
        'script-src-attr': "'none'",
        'connect-src': "'self'",
        'object-src': "'none'",
        'frame-ancestors': "'none'",
      });
      // Every script element loads a file or is a JSON data block: nothing inline would run.
      const scripts = (await response.text()).match(/<script\b[^>]*>/g) ?? [];
      for (const script of scripts) expect(script, path).toMatch(/ src="|type="application\/json"/);
    }
  });
});
