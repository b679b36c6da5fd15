/**
 * Security headers (helmet). API answers are data, never pages: their Content Security Policy
 * allows nothing to load and no page to frame them. The docs under `/docs` get a policy that lets
 * Scalar's Try-It work and nothing else: scripts and connections to this origin only (the page's
 * configuration is a JSON data block read by an asset, so no inline script is needed), inline
 * styles (Scalar's components set them), images from this origin and `data:` URLs. Scripts may
 * also evaluate code (`'unsafe-eval'`): the zod inside Scalar's bundle (1.46) probes
 * `new Function("")` (in a try/catch) when it builds its first object schema and, if allowed,
 * compiles its validators with it; refused, it falls back to slower validation and works, but
 * every page load reports a violation (which the docs browser test rightly fails on). The probe
 * is skipped only under zod's `jitless` setting, and that object is private to the bundle: it is
 * not on `globalThis` (only zod's registry is) and Scalar exposes no option for it, so the page
 * cannot set it. With no inline script allowed, only code from this origin can reach eval. Neither policy upgrades insecure requests: the server is often
 * reached over plain HTTP on a private network.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

const NONE = ["'none'"];
const SELF = ["'self'"];

/** Every response: nosniff, no framing, no referrer across origins, HSTS, COOP… and a closed CSP. */
export const apiSecurityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: NONE, frameAncestors: NONE, baseUri: NONE, formAction: NONE },
  },
  frameguard: { action: 'deny' },
});

/** The docs pages (mounted after `apiSecurityHeaders`, whose CSP this one replaces). */
export const docsSecurityHeaders = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: SELF,
    scriptSrc: [...SELF, "'unsafe-eval'"],
    scriptSrcAttr: NONE,
    styleSrc: [...SELF, "'unsafe-inline'"],
    imgSrc: [...SELF, 'data:'],
    fontSrc: [...SELF, 'data:'],
    connectSrc: SELF,
    objectSrc: NONE,
    baseUri: SELF,
    formAction: SELF,
    frameAncestors: NONE,
  },
});

/** API answers are never kept by caches (mounted after the spec and the docs, which may be). */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};
