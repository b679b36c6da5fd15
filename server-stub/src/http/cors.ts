/**
 * CORS with the cors middleware: pages on the allowed origins (MERIDIAN_CORS_ORIGINS) may call
 * the API with a bearer token. Preflights are answered here, before rate limits, routes and the
 * 404/405 fallback, with the API's methods and the request headers it takes; responses expose the
 * headers clients read. Credentials are not allowed, so cookie sessions stay same-origin. Any
 * other origin gets no grant (no Access-Control-Allow-Origin).
 */
import cors from 'cors';
import type { RequestHandler } from 'express';

const REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'Last-Event-ID'];
const EXPOSED_HEADERS = [
  'Request-Id',
  'ETag',
  'Location',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotent-Replayed',
];

export function crossOrigin(origins: readonly string[], methods: readonly string[]): RequestHandler {
  return cors({
    origin: [...origins],
    methods: [...methods],
    allowedHeaders: REQUEST_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    // Browsers cap this (Chromium at 2 hours); ten minutes keeps a changed allow-list prompt.
    maxAge: 600,
  });
}
