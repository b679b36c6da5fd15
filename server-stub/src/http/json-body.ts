import express, { type RequestHandler } from 'express';
import { ApiError } from './problem';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The body exactly as sent; idempotency keys compare it. */
      rawBody?: Buffer;
    }
  }
}

export const BODY_LIMIT = '100kb';

/** A body in anything but JSON is refused up front with 415 rather than parsed as nothing. */
const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json')) {
    next(new ApiError(415, 'unsupported_media_type', 'Unsupported media type', 'Send the request body as application/json.'));
    return;
  }
  next();
};

/** Parses JSON bodies (malformed JSON and oversized bodies become problems in error-handler.ts). */
export const jsonBody: RequestHandler[] = [
  requireJson,
  express.json({
    limit: BODY_LIMIT,
    verify: (req, _res, buffer) => {
      (req as express.Request).rawBody = buffer;
    },
  }),
];
