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

/** The metadata of the contract route handling this request (set by @ts-rest/express). */
export function routeMetadata(req: Request): RouteMetadata {
  const route = (req as Request & { tsRestRoute?: { metadata?: RouteMetadata } }).tsRestRoute;
  if (!route?.metadata) throw new Error('routeMetadata used outside a contract route');
  return route.metadata;
}
