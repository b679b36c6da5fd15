/**
 * The one reader of the bundled OpenAPI 3.1 spec (openapi/dist/openapi.json), shared by the
 * generators (contract, SDK resources, MSW handlers) and the tests: the document's types, its
 * `$ref`s, its operations with their parameters merged, and one rule for what security they need.
 */

/** A reference to another part of the document (`#/components/…`). */
export interface Reference {
  $ref: string;
}

/** An OpenAPI object that may be written in place or as a `$ref` to a component. */
export type Ref<T> = T | Reference;

/** The JSON Schema (2020-12) subset the spec uses. */
export interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  items?: SchemaObject;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  additionalProperties?: boolean | SchemaObject;
  oneOf?: SchemaObject[];
  anyOf?: SchemaObject[];
  allOf?: SchemaObject[];
  default?: unknown;
  title?: string;
  description?: string;
  examples?: unknown[];
  example?: unknown;
}

export interface ExampleObject {
  summary?: string;
  value?: unknown;
}

/** Where OpenAPI lets examples be written: media types, headers, parameters. */
export interface ExampleHolder {
  example?: unknown;
  examples?: Record<string, Ref<ExampleObject>>;
}

export interface MediaTypeObject extends ExampleHolder {
  schema?: SchemaObject;
  /** Server-Sent Events: the schema of each event's data. */
  'x-sse-data'?: SchemaObject;
  /** Newline-delimited JSON (application/x-ndjson): the schema of each line. */
  'x-ndjson-item'?: SchemaObject;
}

export interface HeaderObject extends ExampleHolder {
  description?: string;
  required?: boolean;
  schema?: SchemaObject;
}

export interface ParameterObject extends ExampleHolder {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  description?: string;
  required?: boolean;
  schema: SchemaObject;
}

export interface RequestBodyObject {
  description?: string;
  required?: boolean;
  content: Record<string, MediaTypeObject>;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, Ref<HeaderObject>>;
  content?: Record<string, MediaTypeObject>;
}

/** Scheme name → scopes; `{}` means "no credentials needed". */
export type SecurityRequirement = Record<string, string[]>;

export interface OperationObject {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  deprecated?: boolean;
  security?: SecurityRequirement[];
  parameters?: Ref<ParameterObject>[];
  requestBody?: Ref<RequestBodyObject>;
  responses: Record<string, Ref<ResponseObject>>;
  /** The SDK method name, when the naming rule of sdk/scripts/generate-resources.ts is not wanted. */
  'x-sdk-method'?: string;
  /** Code samples for the docs, written into the bundle by sdk/scripts/generate-code-samples.ts. */
  'x-codeSamples'?: CodeSample[];
}

/** One entry of `x-codeSamples`, as Scalar and Redocly read it. */
export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

/** Every method a path item may hold, in the order operations of one path are listed. */
export const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItemObject = {
  summary?: string;
  description?: string;
  parameters?: Ref<ParameterObject>[];
} & Partial<Record<HttpMethod, OperationObject>>;

export interface OpenApiDocument {
  openapi?: string;
  tags?: { name: string; description?: string }[];
  paths: Record<string, PathItemObject>;
  /** What the API sends (one entry per event type): not operations, so `operations()` leaves them out. */
  webhooks?: Record<string, PathItemObject>;
  components?: {
    schemas?: Record<string, SchemaObject>;
    parameters?: Record<string, ParameterObject>;
    responses?: Record<string, ResponseObject>;
    [kind: string]: Record<string, unknown> | undefined;
  };
  security?: SecurityRequirement[];
}

export function isReference(node: unknown): node is Reference {
  return typeof node === 'object' && node !== null && typeof (node as { $ref?: unknown }).$ref === 'string';
}

/**
 * Follows local JSON pointers (`#/components/schemas/Device`, `#/paths/~1v1~1devices/get/…`),
 * chains included, to the object they point at. Anything that is not a reference comes back as it is.
 */
export function resolveRef<T>(document: unknown, node: Ref<T>): T {
  let current: unknown = node;
  for (let depth = 0; isReference(current); depth++) {
    const ref = current.$ref;
    if (depth === 32) throw new Error(`$ref chain too long (a cycle?) at ${ref}`);
    if (!ref.startsWith('#/'))
      throw new Error(`Only local $refs are supported (is this the bundled spec?): ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .map((segment) => decodeURIComponent(segment).replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((parent, key) => (parent as Record<string, unknown> | undefined)?.[key], document);
    if (current === undefined) throw new Error(`Unresolved $ref ${ref}`);
  }
  return current as T;
}

/** One operation of the document, where it is, and its parameters as they apply to it. */
export interface LocatedOperation {
  path: string;
  method: HttpMethod;
  operationId: string;
  operation: OperationObject;
  /**
   * The path item's parameters and the operation's, `$ref`s resolved; an operation's parameter
   * replaces the path item's of the same name and location (in its place).
   */
  parameters: ParameterObject[];
  /** The request body, `$ref` resolved. */
  requestBody?: RequestBodyObject;
  /** The responses by status, `$ref`s resolved. */
  responses: Record<string, ResponseObject>;
}

/**
 * Every operation of the document: paths in document order, methods in `HTTP_METHODS` order.
 * An operation without an operationId, or with one used twice, is an error: every reader keys
 * operations by it.
 */
export function operations(document: OpenApiDocument): LocatedOperation[] {
  const seen = new Set<string>();
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      if (operation === undefined) return [];
      const operationId = operation.operationId;
      if (operationId === undefined) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      if (seen.has(operationId)) throw new Error(`operationId ${operationId} is used twice`);
      seen.add(operationId);
      const merged = new Map<string, ParameterObject>();
      for (const raw of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) {
        const parameter = resolveRef(document, raw);
        merged.set(`${parameter.in}:${parameter.name}`, parameter);
      }
      return [
        {
          path,
          method,
          operationId,
          operation,
          parameters: [...merged.values()],
          ...(operation.requestBody ? { requestBody: resolveRef(document, operation.requestBody) } : {}),
          responses: Object.fromEntries(
            Object.entries(operation.responses).map(([status, raw]) => [status, resolveRef(document, raw)]),
          ),
        },
      ];
    }),
  );
}

/**
 * Fails when an operation uses a method that `reader` cannot handle, so that no operation of the
 * spec is ever left out silently.
 */
export function assertMethod<M extends HttpMethod>(
  located: LocatedOperation,
  supported: readonly M[],
  reader: string,
): asserts located is LocatedOperation & { method: M } {
  if (!(supported as readonly HttpMethod[]).includes(located.method))
    throw new Error(
      `${reader}: ${located.operationId} is ${located.method.toUpperCase()} ${located.path}, but only ${supported.map((m) => m.toUpperCase()).join(', ')} are supported`,
    );
}

export interface OperationSecurity {
  /** No credentials needed: its security (or the document's) is empty or holds `{}`. */
  public: boolean;
  /** An agent route (`agentAuth`): only a device's access token is accepted. */
  agent: boolean;
  /** Every scope any of its requirements names, sorted. */
  scopes: string[];
}

/** What an operation asks of the caller: its own `security`, or the document's when it has none. */
export function securityOf(operation: OperationObject, document: OpenApiDocument): OperationSecurity {
  const security = operation.security ?? document.security ?? [];
  return {
    public: security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0),
    agent: security.some((requirement) => 'agentAuth' in requirement),
    scopes: [...new Set(security.flatMap((requirement) => Object.values(requirement).flat()))].sort(),
  };
}

function pointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The JSON pointer of the schema of one media type of an operation's request body or of one of
 * its responses, through the body's or response's `$ref` when it is one (for Ajv and the like).
 */
export function schemaPointer(
  located: Pick<LocatedOperation, 'path' | 'operation'> & { method: string },
  part: 'requestBody' | { response: string },
  mediaType: string,
): string {
  const raw =
    part === 'requestBody' ? located.operation.requestBody : located.operation.responses[part.response];
  const where = part === 'requestBody' ? 'requestBody' : `responses/${pointerSegment(part.response)}`;
  const base = isReference(raw)
    ? raw.$ref
    : `#/paths/${pointerSegment(located.path)}/${located.method.toLowerCase()}/${where}`;
  return `${base}/content/${pointerSegment(mediaType)}/schema`;
}
