import type { RequestHandler } from 'express';
import { newId } from '../store/ids';

declare global {
  namespace Express {
    interface Request {
      requestId: string;
    }
  }
}

/** Gives every request an ID, echoed in the `Request-Id` header and in error bodies. */
export const requestId: RequestHandler = (req, res, next) => {
  req.requestId = newId('req');
  res.setHeader('Request-Id', req.requestId);
  next();
};
