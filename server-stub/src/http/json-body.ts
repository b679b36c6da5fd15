import express, { type RequestHandler } from 'express';
import { problems } from './problem';
import { routeMetadata } from './route';

declare global {
  namespace Express {
    interface Request {
      /** The body exactly as sent; idempotency keys compare it. */
      rawBody?: Buffer;
    }
  }
}

/** JSON bodies: at most 100 KB (express.json's '100kb'). */
export const JSON_BODY_LIMIT_BYTES = 100 * 1024;
/** Images (screenshots) are the one kind of body that is not JSON. */
export const IMAGE_TYPES = ['image/jpeg'];
export const IMAGE_LIMIT = '2mb';
/** Files (artifact uploads) are never parsed: the operation streams them (lifecycle/blob-http.ts). */
export const STREAMED_TYPES = ['application/octet-stream'];

const hasBody = (req: express.Request): boolean =>
  Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

/** A body in anything but JSON (or an image) is refused up front with 415 rather than parsed as nothing. */
const requireJson: RequestHandler = (req, _res, next) => {
  if (hasBody(req) && !req.is(['application/json', ...IMAGE_TYPES, ...STREAMED_TYPES])) {
    next(problems.unsupportedMediaType(['application/json']));
    return;
  }
  next();
};

/** On a contract route: a body of a media type the operation does not take is 415. */
export const acceptedBody: RequestHandler = (req, _res, next) => {
  const { bodyTypes } = routeMetadata(req);
  if (hasBody(req) && bodyTypes.length > 0 && !req.is([...bodyTypes])) {
    next(problems.unsupportedMediaType(bodyTypes));
    return;
  }
  next();
};

/** Parses JSON bodies (malformed JSON and oversized bodies become problems in error-handler.ts). */
export const jsonBody: RequestHandler[] = [
  requireJson,
  express.json({
    limit: JSON_BODY_LIMIT_BYTES,
    verify: (req, _res, buffer) => {
      (req as express.Request).rawBody = buffer;
    },
  }),
  express.raw({ type: IMAGE_TYPES, limit: IMAGE_LIMIT }),
];
