/**
 * Sign in as a user with MFA on: the password answers `mfa_required` (MfaRequiredError) with a
 * challenge, which a code of the authenticator app completes. The code is computed here from the
 * TOTP secret (base32, as `POST /v1/auth/mfa/totp/setup` gave it) with otpauth, as the app would.
 *
 *   MERIDIAN_USERNAME=alice MERIDIAN_PASSWORD=… MERIDIAN_TOTP_SECRET=JBSWY3DP… npx tsx examples/sign-in-with-mfa.ts
 */
import Meridian, { MfaRequiredError } from '@meridian/sdk';
import { Secret, TOTP } from 'otpauth';
import { orExit } from './lib/connect';

const baseUrl = process.env.MERIDIAN_URL ?? 'http://localhost:8080';
const {
  MERIDIAN_USERNAME: username,
  MERIDIAN_PASSWORD: password,
  MERIDIAN_TOTP_SECRET: secret,
} = process.env;
if (!username || !password || !secret) {
  console.error('Set MERIDIAN_USERNAME, MERIDIAN_PASSWORD and MERIDIAN_TOTP_SECRET.');
  process.exit(2);
}

const meridian = new Meridian({ baseUrl });

/** The password, then (when MFA is on) the code of the challenge it answered with. */
async function signIn() {
  try {
    return await meridian.auth.login({ username: username!, password: password! });
  } catch (error) {
    if (!(error instanceof MfaRequiredError)) throw error;
    const { token, expires_at } = error.mfaChallenge;
    console.log(`password accepted; a second factor is due before ${expires_at}`);
    const code = new TOTP({ secret: Secret.fromBase32(secret!) }).generate();
    return meridian.mfa.verify({ challenge_token: token, code });
  }
}

const session = await orExit(signIn(), 'Sign-in');
const me = await orExit(new Meridian({ baseUrl, token: session.token }).auth.getCurrentUser(), 'Reading me');
console.log(`signed in as ${me.user.username} (MFA ${me.user.mfa_enabled ? 'on' : 'off'})`);
