/** Cookies as a browser keeps them: read from Set-Cookie, sent back in a Cookie header. */
export function cookiesOf(response: Response): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';');
    const separator = pair!.indexOf('=');
    cookies[pair!.slice(0, separator)] = decodeURIComponent(pair!.slice(separator + 1));
  }
  return cookies;
}

export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('; ');
}
