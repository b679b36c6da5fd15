/**
 * Passkeys in a real browser: Debian's Chromium (through playwright-core) with the DevTools
 * protocol's virtual authenticator (WebAuthn.addVirtualAuthenticator: CTAP2, internal transport,
 * resident keys, user verification). From a page Meridian serves (its /docs, at
 * http://localhost:<port>, a secure context), the page registers a passkey for a signed-in user
 * with navigator.credentials.create(), then signs in with navigator.credentials.get() without a
 * username. The authenticator's keys and signatures, the browser's client data and the server's
 * checks are all real; nothing is mocked.
 */
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCurrentUser, listPasskeys } from '@meridian/sdk';
import { launchChromium } from './support/programs';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember } from './support/world';

const TEST_TIMEOUT_MS = 120_000;

/** What the page reports of a call to the API: its status and JSON body. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('passkeys in Chromium with a virtual authenticator', () => {
  const t = useTestServer();
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;

  beforeAll(async () => {
    browser = await launchChromium();
    const context = await browser.newContext();
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    }));
    await page.goto(`http://localhost:${new URL(t.url).port}/docs`);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
  });

  it(
    'registers a passkey from a Meridian page, then signs in with it without a username',
    async () => {
      expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
      const member = await addMember(t, 'operator', []);

      // Registration, by the signed-in member (bearer token), in the page.
      const registered: Answer = await page.evaluate(async (token) => {
        const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
        const optionsResponse = await fetch('/v1/auth/passkeys/registration/options', {
          method: 'POST',
          headers,
        });
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(await optionsResponse.json());
        const credential = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential;
        const verified = await fetch('/v1/auth/passkeys/registration/verify', {
          method: 'POST',
          headers,
          body: JSON.stringify({ name: 'Chromium', credential: credential.toJSON() }),
        });
        return { status: verified.status, body: await verified.json() };
      }, member.session);
      expect(registered).toMatchObject({ status: 201, body: { name: 'Chromium', transports: ['internal'] } });
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });

      // Sign-in, by nobody yet: no username, no token; the authenticator offers the passkey.
      const signedIn: Answer = await page.evaluate(async () => {
        const headers = { 'Content-Type': 'application/json' };
        const optionsResponse = await fetch('/v1/auth/passkeys/authentication/options', { method: 'POST' });
        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(await optionsResponse.json());
        const credential = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential;
        const verified = await fetch('/v1/auth/passkeys/authentication/verify', {
          method: 'POST',
          headers,
          body: JSON.stringify({ credential: credential.toJSON() }),
        });
        return { status: verified.status, body: await verified.json() };
      });
      expect(signedIn).toMatchObject({
        status: 200,
        body: { token_type: 'bearer', user: { id: member.user.id, passkey_count: 1 } },
      });

      // The browser holds the session cookie, and the page is signed in with it.
      const me: Answer = await page.evaluate(async () => {
        const response = await fetch('/v1/auth/me');
        return { status: response.status, body: await response.json() };
      });
      expect(me).toMatchObject({
        status: 200,
        body: { auth_method: 'session', user: { id: member.user.id } },
      });
      const token = signedIn.body.token as string;
      expect(ok(await getCurrentUser({ client: t.client(token) })).user.id).toBe(member.user.id);
      const [passkey] = ok(await listPasskeys({ client: t.client(token) })).data;
      expect(passkey).toMatchObject({ name: 'Chromium', last_used_at: expect.any(String) });
      const [used] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      expect(used!.signCount).toBeGreaterThan(credentials[0]!.signCount);
    },
    TEST_TIMEOUT_MS,
  );
});
