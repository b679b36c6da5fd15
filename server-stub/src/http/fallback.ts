import type { RequestHandler } from 'express';
import { problems } from './problem';

type Route = { method: string; path: string };

/** Turns a ts-rest path (`/v1/devices/:device_id`) into a matcher for one concrete path. */
const matcher = (path: string): RegExp => new RegExp(`^${path.replace(/:[^/]+/g, '[^/]+')}/?$`);

/** Unknown paths are 404, known paths with another method 405 (with `Allow`), both as problems. */
export function notFoundOrMethodNotAllowed(routes: Route[]): RequestHandler {
  const compiled = routes.map((route) => ({ method: route.method, pattern: matcher(route.path) }));
  return (req, res, next) => {
    const allowed = compiled.filter((route) => route.pattern.test(req.path)).map((route) => route.method);
    if (allowed.length > 0) {
      res.setHeader('Allow', [...new Set(allowed)].join(', '));
      next(problems.methodNotAllowed(req.method, allowed));
      return;
    }
    next(problems.routeNotFound(req.method, req.path));
  };
}
