/**
 * The Express app: shared HTTP concerns in the order a request meets them, then the contract's
 * routes, then the fallbacks. Nothing here knows about individual operations.
 */
import { readFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createExpressEndpoints, type TsRestExpressOptions } from '@ts-rest/express';
import cookieParser from 'cookie-parser';
import express, { type RequestHandler } from 'express';
import { createDocsRouter } from '@meridian/docs';
import { heartbeatLane } from '../agent/heartbeat-lane';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { createRouter } from '../router';
import { audit } from './audit';
import { authenticate } from './authenticate';
import { crossOrigin } from './cors';
import { errorHandler } from './error-handler';
import { notFoundOrMethodNotAllowed } from './fallback';
import { idempotency } from './idempotency';
import { requestLogging } from './logging';
import { acceptedBody, jsonBody } from './json-body';
import { apiRateLimit, loginRateLimit } from './rate-limit';
import { requestId } from './request-id';
import { routeMetadata } from './route';
import { apiSecurityHeaders, docsSecurityHeaders, noStore } from './security-headers';

const SPEC_PATH = new URL('../../../openapi/dist/openapi.json', import.meta.url);

/** Sign-ins with a password (Meridian's own or a directory's): their failures are rate limited. */
const PASSWORD_SIGN_INS = new Set(['login', 'ldapLogin']);

/** Every route of the contract, flattened (for the 404/405 fallback). */
function contractRoutes(): { method: string; path: string }[] {
  return Object.values(contract).flatMap((group) =>
    Object.values(group).map((route) => ({ method: route.method, path: route.path })),
  );
}

/** The spec, with `servers` pointing at whoever asked, so Try-It and generators hit this server. */
function serveSpec(): RequestHandler {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Record<string, unknown>;
  return (req, res) => {
    res.json({
      ...spec,
      servers: [{ url: `${req.protocol}://${req.get('host')}`, description: 'This server' }],
    });
  };
}

/**
 * The shared middleware runs before ts-rest validates the request, so it sees Express's raw
 * `req.query`; ts-rest types `req` as if validated (every route's query), hence the cast.
 */
function beforeValidation(
  handlers: RequestHandler[],
): NonNullable<TsRestExpressOptions<typeof contract>['globalMiddleware']> {
  return handlers as never;
}

/**
 * What every request meets first, in order: its ID, its log line, its metrics, the security headers
 * and CORS. Run once per request, by Express or before it by the heartbeat lane
 * (agent/heartbeat-lane.ts), which marks the request `started` when it hands it on.
 */
function startRequest(context: AppContext): RequestHandler {
  const steps: RequestHandler[] = [
    requestId,
    requestLogging(context.log),
    context.metrics.countRequests,
    apiSecurityHeaders,
    crossOrigin(context.corsOrigins, [...new Set(contractRoutes().map((route) => route.method))]),
  ];
  return (req, res, next) => {
    if (req.started) return next();
    req.started = true;
    let step = 0;
    const nextStep = (error?: unknown): void => {
      if (error !== undefined || step === steps.length) next(error);
      else steps[step++]!(req, res, nextStep);
    };
    nextStep();
  };
}

/**
 * The server's request listener: the heartbeat lane, then Express with the shared HTTP concerns,
 * the contract's routes and the fallbacks.
 */
export function createApp(context: AppContext): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  // ETags are ours: resource versions (http/etag.ts), not hashes of whatever body was sent.
  app.set('etag', false);
  app.set('trust proxy', context.trustProxy);
  const start = startRequest(context);
  app.use(start);
  app.get('/openapi.json', serveSpec());
  app.use('/docs', docsSecurityHeaders, createDocsRouter());
  app.use(noStore);
  app.use(cookieParser());
  app.use(jsonBody);
  // A heartbeat the lane refused after reading its body: answered by the error handler.
  app.use((req, _res, next) => next(req.laneError));

  const { counters, requestsPerMinute, loginFailuresPerMinute } = context.rateLimit;
  const limitRequests = apiRateLimit(counters, requestsPerMinute);
  const limitFailedLogins = loginRateLimit(counters, loginFailuresPerMinute);
  const onlyForLogin: RequestHandler = (req, res, next) =>
    PASSWORD_SIGN_INS.has(routeMetadata(req).operationId) ? limitFailedLogins(req, res, next) : next();

  createExpressEndpoints(contract, createRouter(context), app, {
    logInitialization: false,
    jsonQuery: false,
    responseValidation: context.validateResponses,
    globalMiddleware: beforeValidation([
      acceptedBody,
      onlyForLogin,
      limitRequests.around(authenticate(context)),
      idempotency(context),
      // After idempotency: a replay is answered before this, and is not recorded again.
      audit(context),
    ]),
    requestValidationErrorHandler: (error, _req, _res, next) => next(error),
  });
  app.use(limitRequests.byAddress, notFoundOrMethodNotAllowed(contractRoutes()));
  app.use(errorHandler);
  return heartbeatLane(context, { startRequest: start, rateLimit: limitRequests, express: app });
}
