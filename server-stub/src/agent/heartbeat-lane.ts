/**
 * The heartbeat's own lane: `POST /v1/agent/heartbeat`, the request every agent sends every minute,
 * answered in front of Express. Express's request and response objects and its router cost most of
 * what a heartbeat takes (measured: a bare Express JSON echo spends about 7× the CPU of the same
 * echo on node:http), so a well-formed heartbeat is answered here, by the same pieces Express runs
 * for every request (http/app.ts `startRequest`: request ID, log line, metrics, security headers,
 * CORS), the same authentication, rate limit, contract schema and handler, and the same response
 * validation outside production.
 *
 * Anything else goes on to Express, which answers it as it answers every request:
 * - a request that is not a plain heartbeat (another path or method, a query string, a cookie, an
 *   Origin, a body that is not plain JSON of a known length), before the lane does anything;
 * - a heartbeat whose token is refused, with its body unread, so that Express authenticates it
 *   again, counts it against the client's address and answers 401;
 * - a heartbeat refused after its body was read (malformed JSON, a spent rate limit, a body the
 *   schema refuses, an error of the handler): Express receives the parsed body and the error, and
 *   its error handler answers (http/app.ts, `laneError`).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { validateResponse } from '@ts-rest/core';
import { RequestValidationError } from '@ts-rest/express';
import type { Request, RequestHandler } from 'express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { malformedJson } from '../http/error-handler';
import { JSON_BODY_LIMIT_BYTES } from '../http/json-body';
import type { ApiRateLimit } from '../http/rate-limit';
import { noStore } from '../http/security-headers';
import { authenticateAgent } from './credentials';
import { agentHeartbeatRoutes } from './heartbeat-handlers';

const ROUTE = contract.agent.sendAgentHeartbeat;
const TOKEN = /^Bearer (mat_[A-Za-z0-9_-]{1,196})$/;
const JSON_TYPE = /^application\/json(;\s*charset=utf-8)?$/i;

declare global {
  namespace Express {
    interface Request {
      /** The request's start (request ID, log line, metrics…) has run (http/app.ts `startRequest`). */
      started?: boolean;
      /** Why the heartbeat lane refused the request after reading its body; Express answers it. */
      laneError?: unknown;
    }
  }
}

/** The request as the lane fills it in, with what Express's request would carry. */
type LaneRequest = IncomingMessage &
  Partial<Pick<Request, 'agent' | 'rawBody' | 'body' | 'originalUrl' | 'laneError'>>;

/** The device access token of a heartbeat the lane takes, or undefined for Express to handle. */
function plainHeartbeatToken(req: IncomingMessage): string | undefined {
  const { headers } = req;
  const length = Number(headers['content-length']);
  if (
    req.method !== 'POST' ||
    req.url !== ROUTE.path ||
    headers.cookie !== undefined ||
    headers.origin !== undefined ||
    headers['transfer-encoding'] !== undefined ||
    (headers['content-encoding'] !== undefined && headers['content-encoding'] !== 'identity') ||
    !(length > 0 && length <= JSON_BODY_LIMIT_BYTES) ||
    !JSON_TYPE.test(headers['content-type'] ?? '')
  )
    return undefined;
  return TOKEN.exec(headers.authorization ?? '')?.[1];
}

/** The request's body (its length is known and within the limit: see plainHeartbeatToken). */
function bodyOf(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** What JSON counts as whitespace before the first token (JavaScript's trim counts more). */
const FIRST_TOKEN = /^[ \t\n\r]*(.)/s;

/**
 * The body as JSON, as express.json parses it (a leading byte order mark dropped; strict: an
 * object or an array), or undefined.
 */
function parseJson(bytes: Buffer): unknown {
  const decoded = bytes.toString('utf8');
  const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  const first = FIRST_TOKEN.exec(text)?.[1];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export interface HeartbeatLaneOptions {
  /** What starts every request (request ID, log line, metrics, headers); marks `req.started`. */
  startRequest: RequestHandler;
  rateLimit: ApiRateLimit;
  /** Express, for everything the lane does not answer. */
  express: RequestListener;
}

export function heartbeatLane(context: AppContext, options: HeartbeatLaneOptions): RequestListener {
  const handler = agentHeartbeatRoutes(context).sendAgentHeartbeat;

  async function answer(req: LaneRequest, res: ServerResponse, token: string): Promise<void> {
    try {
      req.agent = await authenticateAgent(context, token);
    } catch {
      return options.express(req, res);
    }
    // Express's body parser leaves a body that was already read alone.
    (req as { _body?: boolean })._body = true;
    try {
      req.rawBody = await bodyOf(req);
      req.body = parseJson(req.rawBody);
      // In Express's order: the body is parsed before the request counts against the rate limit.
      if (req.body === undefined) throw malformedJson();
      const spent = await options.rateLimit.countDevice(req.agent.deviceId, res);
      if (spent) throw spent;
      const body = ROUTE.body.safeParse(req.body);
      if (!body.success) throw new RequestValidationError(null, null, null, body.error);
      const result = await handler({
        params: {},
        query: {},
        headers: req.headers as never,
        body: body.data,
        req: req as Request,
        res: res as never,
      } as never);
      const response = context.validateResponses
        ? validateResponse({ appRoute: ROUTE, response: { status: result.status, body: result.body } })
        : result;
      sendJson(res, response.status, response.body);
    } catch (error) {
      req.laneError = error;
      options.express(req, res);
    }
  }

  return (incoming, res) => {
    const req: LaneRequest = incoming;
    const token = plainHeartbeatToken(req);
    if (token === undefined) return options.express(req, res);
    // What Express's router would set, which the shared start and the log line read.
    req.originalUrl = req.url!;
    (req as { tsRestRoute?: unknown }).tsRestRoute = ROUTE;
    options.startRequest(req as Request, res as never, () => undefined);
    noStore(req as Request, res as never, () => undefined);
    void answer(req, res, token);
  };
}
