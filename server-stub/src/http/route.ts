import type { Request } from 'express';

/** The metadata the contract generator copies from each operation of the spec. */
export interface RouteMetadata {
  operationId: string;
  tag: string;
  public: boolean;
  /** An agent route (`agentAuth`): only a device's access token is accepted. */
  agent: boolean;
  idempotent: boolean;
  /** The media types the request body may have (none: the operation takes no body). */
  bodyTypes: readonly string[];
  scopes: readonly string[];
}

interface ContractRoute {
  path: string;
  metadata?: RouteMetadata;
  query?: { shape: Record<string, unknown> };
}

/** The contract route handling this request (set by @ts-rest/express). */
function contractRoute(req: Request, caller: string): ContractRoute {
  const route = (req as Request & { tsRestRoute?: ContractRoute }).tsRestRoute;
  if (!route) throw new Error(`${caller} used outside a contract route`);
  return route;
}

/** The metadata of the contract route handling this request. */
export function routeMetadata(req: Request): RouteMetadata {
  const { metadata } = contractRoute(req, 'routeMetadata');
  if (!metadata) throw new Error('routeMetadata used outside a contract route');
  return metadata;
}

/** The operation handling this request, if it reached a contract route (not a 404, the docs…). */
export function operationIdOf(req: Request): string | undefined {
  return (req as Request & { tsRestRoute?: ContractRoute }).tsRestRoute?.metadata?.operationId;
}

/** The names of the query parameters the contract route handling this request takes. */
export function queryParameterNames(req: Request): string[] {
  return Object.keys(contractRoute(req, 'queryParameterNames').query?.shape ?? {});
}

/** The path template of the contract route handling this request (`/v1/users/{user_id}` is `/v1/users/:user_id`). */
export function routePath(req: Request): string {
  return contractRoute(req, 'routePath').path;
}
