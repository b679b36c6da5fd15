import type { Request } from 'express';
import type { AppContext } from '../context';

/** A Host header that is a host name or bracketed IPv6 address, with an optional port: nothing else. */
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The URL agents and browsers reach this server at, without a trailing slash: MERIDIAN_PUBLIC_URL
 * when set (behind a proxy or load balancer; it may carry a path prefix), else the one the request
 * came to (behind a proxy: as `trust proxy` lets Express see it), unless its Host header holds
 * anything but a host name and port, since the URL ends up in shell commands and redirects.
 */
export function serverUrl(context: AppContext, req: Request): string {
  if (context.publicUrl !== undefined) return context.publicUrl;
  const host = req.get('host') ?? '';
  return PLAIN_HOST.test(host) ? `${req.protocol}://${host}` : 'http://localhost:8080';
}

/** An absolute URL of a path on this server (`/v1/…`), keeping MERIDIAN_PUBLIC_URL's path prefix. */
export const serverUrlOf = (context: AppContext, req: Request, path: string): URL =>
  new URL(`${serverUrl(context, req)}${path}`);
