/**
 * What a web page does with the SDK: signs in with the session cookie (no token in the page),
 * and makes unsafe calls that echo the meridian_csrf cookie as X-CSRF-Token.
 *
 *   MERIDIAN_USERNAME=admin MERIDIAN_PASSWORD=… npx tsx examples/sdk/browser-session.ts "Porto office"
 */
const { MERIDIAN_USERNAME: username, MERIDIAN_PASSWORD: password } = process.env;
const [siteName] = process.argv.slice(2);
if (!username || !password || !siteName) {
  console.error('usage: MERIDIAN_USERNAME=… MERIDIAN_PASSWORD=… browser-session.ts <new site name>');
  process.exit(2);
}
const baseUrl = process.env.MERIDIAN_URL ?? 'http://localhost:8080'; // in a page: location.origin

// Node is not a browser: it has no cookie store. This stands in for the browser's: fetch keeps
// the cookies the server sets and sends them back with `credentials: 'include'`, and
// `document.cookie` shows the ones a page may read (not the httpOnly session cookie).
const jar = new Map<string, { value: string; httpOnly: boolean }>();
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  if (request.credentials === 'include' && jar.size > 0) {
    request.headers.set('Cookie', [...jar].map(([name, cookie]) => `${name}=${cookie.value}`).join('; '));
  }
  const response = await realFetch(request);
  for (const setCookie of response.headers.getSetCookie()) {
    const [pair = '', ...attributes] = setCookie.split(';').map((part) => part.trim());
    const name = pair.slice(0, pair.indexOf('='));
    const value = pair.slice(pair.indexOf('=') + 1);
    const expires = attributes.find((attribute) => /^expires=/i.test(attribute));
    if (value === '' || (expires && Date.parse(expires.slice(8)) <= Date.now())) jar.delete(name);
    else jar.set(name, { value, httpOnly: attributes.some((attribute) => /^httponly$/i.test(attribute)) });
  }
  return response;
};
Object.defineProperty(globalThis, 'document', {
  value: {
    get cookie() {
      return [...jar]
        .filter(([, cookie]) => !cookie.httpOnly)
        .map(([name, cookie]) => `${name}=${cookie.value}`)
        .join('; ');
    },
  },
});
// readme:start
import Meridian from '@meridian/sdk';

const meridian = new Meridian({ baseUrl, credentials: 'cookie' });

await meridian.auth.login({ username, password }); // sets the meridian_session and meridian_csrf cookies
const me = await meridian.auth.getCurrentUser(); // authenticated by the cookie
console.log(`signed in as ${me.user.username} (${me.auth_method})`);

const site = await meridian.sites.create({ name: siteName }); // sends X-CSRF-Token
console.log(`created ${site.name} (${site.id})`);

await meridian.auth.logout(); // ends the session and clears the cookies
// readme:end
console.log(`cookies left: ${jar.size}`);
