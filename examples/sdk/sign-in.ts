/**
 * Both ways to authenticate: an API token (MERIDIAN_TOKEN), and a username and password
 * (MERIDIAN_USERNAME, MERIDIAN_PASSWORD) exchanged for a session token, signed out at the end.
 *
 *   MERIDIAN_TOKEN=mtk_… MERIDIAN_USERNAME=admin MERIDIAN_PASSWORD=… npx tsx examples/sdk/sign-in.ts
 */
const { MERIDIAN_USERNAME: username, MERIDIAN_PASSWORD: password } = process.env;
if (!username || !password) {
  console.error(
    'Set MERIDIAN_TOKEN, MERIDIAN_USERNAME and MERIDIAN_PASSWORD (npm start prints the admin credentials).',
  );
  process.exit(2);
}
// readme:start
import Meridian from '@meridian/sdk';

const baseUrl = process.env.MERIDIAN_URL ?? 'http://localhost:8080';

// Scripts and services: an API token (mtk_…).
const meridian = new Meridian({ baseUrl, token: process.env.MERIDIAN_TOKEN });
const viaToken = await meridian.auth.getCurrentUser();
console.log(`${viaToken.user.username} via ${viaToken.auth_method}, scopes: ${viaToken.scopes.join(' ')}`);

// People: sign in with a username and password, then use the session token (mst_…) it returns.
const session = await new Meridian({ baseUrl }).auth.login({ username, password });
const signedIn = new Meridian({ baseUrl, token: session.token });
const viaSession = await signedIn.auth.getCurrentUser();
console.log(`${viaSession.user.username} via ${viaSession.auth_method} until ${session.expires_at}`);
await signedIn.auth.logout(); // ends this session (API tokens are revoked with apiTokens.revoke instead)
// readme:end
