/**
 * Logs: pino, one JSON object per line, and pino-http's one line per request (written when the
 * response is finished or the connection closes) with the request ID, the principal, the
 * operation, the status and the duration. Bodies and headers are never logged, and credentials
 * are redacted wherever they might still appear (an error object, a future field). Outside
 * production the lines are pretty-printed by pino-pretty as a synchronous stream in this thread,
 * not a worker-thread transport, so the bundled server (esbuild) needs no worker files.
 */
import type { Request, RequestHandler, Response } from 'express';
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { PinoPretty } from 'pino-pretty';
import { operationIdOf } from './route';

export type LogLevel = LevelWithSilent;

/**
 * Field names whose values are credentials: at the top level of a line, and in the error a line
 * carries (`err`, the only object the server logs besides its request lines, which it builds from
 * fields it knows). Each path is named rather than matched by a wildcard (`*.password`), which
 * would make every line, and every request's child logger, walk the whole object (tens of µs each,
 * measured, on every request).
 */
const SECRET_FIELDS = [
  'password',
  'new_password',
  'current_password',
  'token',
  'access_token',
  'refresh_token',
  'secret',
  'authorization',
  'cookie',
  'set-cookie',
];

const REDACTED_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [`["${field}"]`, `err["${field}"]`]),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
];

/** A query parameter holding a credential (an enrolment code, an OIDC authorization code) and its value. */
const SECRET_QUERY = /([?&]code=)[^&#]*/g;

/** The request's path and query as logged: a credential in the query is redacted. */
const loggedUrl = (req: Request): string => req.originalUrl.replace(SECRET_QUERY, '$1[redacted]');

/** Production log lines are written in batches of this many bytes… */
const WRITE_BATCH_BYTES = 4096;
/** …or this long after they were logged, whichever comes first. */
const FLUSH_INTERVAL_MS = 1000;

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go: standard output by default (pretty-printed outside production). */
  destination?: DestinationStream | undefined;
}

export function createLogger({ level, destination }: LoggerOptions): Logger {
  const options = {
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (destination) return pino(options, destination);
  // Asynchronous in production: lines are gathered and written WRITE_BATCH_BYTES at a time, or every
  // FLUSH_INTERVAL_MS however quiet the server, instead of one write(2) per request (a write per line
  // cost a heartbeat about 50 µs of CPU, measured); pino flushes what is left when the process exits.
  if (process.env.NODE_ENV === 'production') {
    const stdout = pino.destination({ dest: 1, sync: false, minLength: WRITE_BATCH_BYTES });
    setInterval(() => stdout.flush(), FLUSH_INTERVAL_MS).unref();
    return pino(options, stdout);
  }
  return pino(
    options,
    PinoPretty({ sync: true, singleLine: true, ignore: 'pid,hostname,method,path,status' }),
  );
}

/** Who made the request, as authenticate.ts worked it out (nothing for public routes and refusals). */
function principalFields(req: Request): Record<string, string | null> | undefined {
  if (req.principal) {
    const { user, authMethod, apiTokenId } = req.principal;
    return {
      kind: authMethod === 'api_token' ? 'api_token' : 'user',
      user_id: user.id,
      token_id: apiTokenId,
    };
  }
  if (req.agent) return { kind: 'agent', device_id: req.agent.deviceId };
  return undefined;
}

/** The fields of a request's line besides pino-http's own request ID and duration. */
function requestFields(req: Request, res: Response): Record<string, unknown> {
  return {
    method: req.method,
    path: loggedUrl(req),
    operation_id: operationIdOf(req),
    principal: principalFields(req),
    status: res.statusCode,
  };
}

/** One line per request; `requestId` (http/request-id.ts) must run first. */
export function requestLogging(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger,
    genReqId: (req) => (req as Request).requestId,
    customAttributeKeys: { reqId: 'request_id', responseTime: 'duration_ms' },
    // The request and response objects themselves are not logged (headers carry credentials).
    serializers: { req: () => undefined, res: () => undefined },
    wrapSerializers: false,
    quietReqLogger: true,
    quietResLogger: true,
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${loggedUrl(req as Request)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${loggedUrl(req as Request)} ${res.statusCode}`,
    customSuccessObject: (req, res, fields) => ({
      ...fields,
      ...requestFields(req as Request, res as Response),
    }),
    customErrorObject: (req, res, _error, fields) => ({
      ...fields,
      ...requestFields(req as Request, res as Response),
    }),
  });
  return middleware as unknown as RequestHandler;
}
