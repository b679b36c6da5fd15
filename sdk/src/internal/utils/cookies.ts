/** The value of one cookie in a `document.cookie`-style string (`a=1; b=2`), decoded. */
export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0 || part.slice(0, separator).trim() !== name) continue;
    const raw = part.slice(separator + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** The browser's cookies, or nothing outside a browser. */
export function documentCookies(): string {
  const document = (globalThis as { document?: { cookie?: unknown } }).document;
  return typeof document?.cookie === 'string' ? document.cookie : '';
}
