import type { ErrorRequestHandler, Request, Response } from 'express';
import { RequestValidationError } from '@ts-rest/express';
import { JSON_BODY_LIMIT_BYTES } from './json-body';
import { ApiError, type FieldIssue, problemBody, problems } from './problem';
import { queryParameterNames } from './route';

declare global {
  namespace Express {
    interface Locals {
      /** The code of the problem the response answers (http/rate-limit.ts reads it). */
      problemCode?: string;
    }
  }
}

type Issue = { code?: string; path: PropertyKey[]; message: string; keys?: string[] };

function issuesOf(part: string, error: { issues?: readonly Issue[] } | null): FieldIssue[] {
  return (error?.issues ?? []).map((issue) => ({
    path: `/${[part, ...issue.path.map(String)].join('/')}`,
    message: issue.message,
  }));
}

/**
 * The query parameters the operation does not take (zod's unrecognized keys of the contract's
 * strict query schema), one issue each, at its own path, saying which ones it does take.
 */
function queryIssuesOf(req: Request, error: { issues?: readonly Issue[] } | null): FieldIssue[] {
  const accepted = queryParameterNames(req);
  const takes = accepted.length > 0 ? `it takes ${accepted.join(', ')}` : 'it takes no query parameters';
  return (error?.issues ?? []).flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? (issue.keys ?? []).map((key) => ({
          path: `/query/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
          message: `Unknown query parameter "${key}" for this operation; ${takes}.`,
        }))
      : issuesOf('query', { issues: [issue] }),
  );
}

/** ts-rest's request validation failure, as one 400 listing every invalid field. */
function fromValidation(error: RequestValidationError, req: Request): ApiError {
  const errors = [
    ...issuesOf('path', error.pathParams as never),
    ...issuesOf('headers', error.headers as never),
    ...queryIssuesOf(req, error.query as never),
    ...issuesOf('body', error.body as never),
  ];
  return problems.validation(errors.slice(0, 100));
}

/** A body that is not JSON (or not an object or an array), as express.json and the heartbeat lane refuse it. */
export const malformedJson = (): ApiError =>
  problems.badRequest('malformed_json', 'The request body is not valid JSON.');

/** body-parser's errors carry a `type`; map the ones a client can cause. */
function fromBodyParser(error: { type?: string; status?: number }): ApiError | undefined {
  if (error.type === 'entity.parse.failed') return malformedJson();
  if (error.type === 'entity.too.large') {
    // JSON bodies stop at 100 KB; images (screenshots) may be larger.
    const image = ((error as { limit?: number }).limit ?? 0) > JSON_BODY_LIMIT_BYTES;
    return image
      ? problems.payloadTooLarge('Images', '2 MiB')
      : problems.payloadTooLarge('Request bodies', '100 KB');
  }
  if (error.type === 'encoding.unsupported' || error.type === 'charset.unsupported') {
    return problems.unsupportedMediaType(['UTF-8 application/json']);
  }
  return undefined;
}

function toApiError(error: unknown, req: Request): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof RequestValidationError) return fromValidation(error, req);
  if (error && typeof error === 'object' && 'type' in error)
    return fromBodyParser(error as { type?: string });
  return undefined;
}

export function sendProblem(req: Request, res: Response, error: ApiError): void {
  res.locals.problemCode = error.code;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(error, req.requestId)));
}

/** The one place anything thrown becomes a problem+json response. Unknown errors are 500s. */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const known = toApiError(error, req);
  // The request's log line (http/logging.ts) carries the error, with its stack.
  if (!known) res.err = error instanceof Error ? error : new Error(String(error));
  if (res.headersSent) {
    res.end();
    return;
  }
  sendProblem(req, res, known ?? problems.internal());
};
