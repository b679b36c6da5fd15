/**
 * The conformance runner: checks a running Meridian server (a deployment, or another
 * implementation of the spec) the way the project's own tests check the reference server, with
 * the same pieces (spec-model.ts, response-validator.ts, exchange.ts, mutations.ts):
 *
 * - every response it gets must conform to the spec (status declared, media type, schema,
 *   required headers, problem documents that repeat the status and the Request-Id);
 * - each GET operation answers a valid request (2xx when the caller holds its scopes and the IDs
 *   came from the server's own lists; 403 when `GET /v1/auth/me` says a scope is missing);
 * - each secured operation is 401 without credentials and with an unknown token;
 * - each broken input the spec rules out (mutations.ts, and an unknown query parameter) is a
 *   400 problem naming the field.
 *
 * Read-only by default: only GET requests. With `allowWrites` it also creates a scratch site
 * (with a device and an enrolment code in it), runs the writes and the bad bodies against that
 * site only, and deletes what it created at the end, also when a check or the run fails.
 */
import type { ParameterObject, SchemaObject } from '../../../scripts/lib/openapi';
import { checkExchange } from './exchange';
import { mutationsOf, type RequestParts, unknownQueryParameter } from './mutations';
import { createResponseValidator, type ResponseValidator } from './response-validator';
import type { SpecModel, SpecOperation } from './spec-model';

export interface ConformanceOptions {
  /** The server's base URL, e.g. `https://meridian.example.com`. */
  url: string;
  /** An operator's API or session token. */
  token: string;
  allowWrites?: boolean;
  model: SpecModel;
  /** Called as each check ends (progress output). */
  onCheck?: (check: CheckResult) => void;
  /** How many times a 429 is retried after its Retry-After (default 5). */
  rateLimitRetries?: number;
}

export type Outcome = 'passed' | 'failed' | 'skipped';

export interface CheckResult {
  operationId: string;
  name: string;
  outcome: Outcome;
  durationMs: number;
  /** What went wrong (failed), or why the check could not run (skipped). */
  messages: string[];
}

export interface ConformanceReport {
  tool: 'meridian-conformance';
  url: string;
  allowWrites: boolean;
  startedAt: string;
  durationMs: number;
  summary: Record<Outcome | 'total', number>;
  checks: CheckResult[];
}

/** A response, checked against the spec. */
interface Sent {
  status: number;
  /** `GET /v1/sites → 200`, for messages. */
  summary: string;
  violations: string[];
  json: unknown;
  code?: string;
}

const requiresQuery = (operation: SpecOperation): boolean =>
  operation.parameters.some((parameter) => parameter.in === 'query' && parameter.required === true);

class Skip {
  constructor(readonly reason: string) {}
}

const UNKNOWN_OPERATOR_TOKEN = `mtk_${'0'.repeat(40)}`;
const UNKNOWN_AGENT_TOKEN = `mat_${'0'.repeat(43)}`;
const RETRY_AFTER_CAP_SECONDS = 60;

/** A value for a parameter from the spec: its example, else its schema's example, enum, or default. */
function sampleValue(model: SpecModel, parameter: ParameterObject): string | undefined {
  const schema = model.deref<SchemaObject>(parameter.schema);
  const examples = Object.values(parameter.examples ?? {}).map(
    (example) => model.deref<{ value?: unknown }>(example).value,
  );
  const value = [parameter.example, ...examples, schema.examples?.[0], schema.enum?.[0], schema.default].find(
    (candidate) => candidate !== undefined,
  );
  return value === undefined ? undefined : String(value);
}

const pathParameters = (operation: SpecOperation) => operation.parameters.filter((p) => p.in === 'path');

export class ConformanceRun {
  private readonly model: SpecModel;
  private readonly validator: ResponseValidator;
  private readonly base: string;
  private readonly checks: CheckResult[] = [];
  /** IDs seen in the server's own answers (or created in the scratch site), by path parameter name. */
  private readonly known = new Map<string, string>();
  /** The caller's scopes (`GET /v1/auth/me`), undefined when the server did not say. */
  private scopes: string[] | undefined;
  /** Whether --token is an API token, which the operations on one's own sessions and passkeys refuse. */
  private apiToken = false;

  constructor(private readonly options: ConformanceOptions) {
    this.model = options.model;
    this.validator = createResponseValidator(options.model);
    this.base = options.url.replace(/\/+$/, '');
  }

  async run(): Promise<ConformanceReport> {
    const startedAt = new Date();
    await this.readPrincipal();
    let scratch: Scratch | undefined;
    try {
      if (this.options.allowWrites) scratch = await this.createScratch();
      for (const operation of this.readOperations()) await this.checkRead(operation);
      if (scratch) await this.checkWrites(scratch);
    } finally {
      if (scratch) await this.removeScratch(scratch);
    }
    const count = (outcome: Outcome) => this.checks.filter((check) => check.outcome === outcome).length;
    return {
      tool: 'meridian-conformance',
      url: this.base,
      allowWrites: this.options.allowWrites ?? false,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      summary: {
        total: this.checks.length,
        passed: count('passed'),
        failed: count('failed'),
        skipped: count('skipped'),
      },
      checks: this.checks,
    };
  }

  /** Runs one check: it returns its problems (none: passed) or throws a Skip. */
  private async check(operationId: string, name: string, body: () => Promise<string[]>): Promise<void> {
    const started = performance.now();
    let outcome: Outcome;
    let messages: string[];
    try {
      messages = await body();
      outcome = messages.length === 0 ? 'passed' : 'failed';
    } catch (error) {
      outcome = error instanceof Skip ? 'skipped' : 'failed';
      messages = [
        error instanceof Skip ? error.reason : error instanceof Error ? error.message : String(error),
      ];
    }
    const result = {
      operationId,
      name,
      outcome,
      durationMs: Math.round(performance.now() - started),
      messages,
    };
    this.checks.push(result);
    this.options.onCheck?.(result);
  }

  /** Sends a request for an operation, retrying 429s after their Retry-After, and checks the answer. */
  private async send(operation: SpecOperation, parts: RequestParts, token?: string): Promise<Sent> {
    const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = parts.path?.[name];
      if (value === undefined) throw new Skip(`no value for the path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const url = new URL(`${this.base}${path}`);
    for (const [name, value] of Object.entries(parts.query ?? {})) {
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    const headers = new Headers(parts.headers);
    if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
    let body: string | undefined;
    if (parts.body !== undefined || parts.bodySerializer) {
      body = parts.bodySerializer ? parts.bodySerializer(parts.body) : JSON.stringify(parts.body);
      if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
    }
    for (let attempt = 0; ; attempt++) {
      const request = new Request(url, { method: operation.method, headers, body });
      const response = await fetch(request.clone());
      const retryAfter = Number(response.headers.get('Retry-After')) || 1;
      if (response.status === 429 && attempt < (this.options.rateLimitRetries ?? 5)) {
        await response.body?.cancel();
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(retryAfter, RETRY_AFTER_CAP_SECONDS) * 1000),
        );
        continue;
      }
      const exchange = await checkExchange(this.model, this.validator, request, response);
      await response.body?.cancel();
      let json: unknown;
      if (/[/+]json\b/.test(response.headers.get('Content-Type') ?? '')) {
        try {
          json = JSON.parse(exchange.body);
        } catch {
          // Already a violation of the spec: the body is not JSON.
        }
      }
      return {
        status: response.status,
        summary: `${operation.method} ${url.pathname}${url.search} → ${response.status}`,
        violations: exchange.violations,
        json,
        code: exchange.code,
      };
    }
  }

  /** The spec's violations of an answer, and a problem if its status is not what was expected. */
  private expect(sent: Sent, expected: string, acceptable: (status: number) => boolean): string[] {
    const problems = sent.violations.map((violation) => `${sent.summary}: ${violation}`);
    if (!acceptable(sent.status)) {
      const problem = sent.code ? ` (${sent.code})` : '';
      problems.push(`${sent.summary}${problem}: expected ${expected}`);
    }
    return problems;
  }

  private holdsScopes(operation: SpecOperation): boolean {
    return this.scopes === undefined || operation.scopes.every((scope) => this.scopes?.includes(scope));
  }

  private async readPrincipal(): Promise<void> {
    await this.check('getCurrentUser', 'tells the caller its scopes', async () => {
      const sent = await this.send(this.model.operationById('getCurrentUser'), {}, this.options.token);
      const { scopes, auth_method } = (sent.json ?? {}) as { scopes?: unknown; auth_method?: unknown };
      if (sent.status === 200 && Array.isArray(scopes)) this.scopes = scopes.map(String);
      this.apiToken = auth_method === 'api_token';
      return this.expect(sent, '200 with the scopes of --token', (status) => status === 200);
    });
  }

  /** GET operations, those without path parameters first, so that lists can name the IDs the others need. */
  private readOperations(): SpecOperation[] {
    return this.model.specOperations
      .filter((operation) => operation.method === 'GET')
      .sort((a, b) => pathParameters(a).length - pathParameters(b).length);
  }

  /** A valid request for an operation: known IDs (or the spec's examples), its required query parameters, no wait. */
  private validCall(operation: SpecOperation): { parts: RequestParts; fromServer: boolean } {
    const path: Record<string, string> = {};
    const query: Record<string, string> = {};
    let fromServer = true;
    for (const parameter of operation.parameters) {
      if (parameter.in === 'path') {
        const value = this.known.get(parameter.name) ?? sampleValue(this.model, parameter);
        if (!this.known.has(parameter.name)) fromServer = false;
        if (value !== undefined) path[parameter.name] = value;
      } else if (parameter.in === 'query' && parameter.required) {
        const value = sampleValue(this.model, parameter);
        if (value !== undefined) query[parameter.name] = value;
      } else if (parameter.in === 'query' && parameter.name === 'wait_seconds') {
        // The answer is what is checked, not an agent: never wait for one (a device's live process list
        // waits 10 s by default for an agent that a scratch device does not have).
        query[parameter.name] = '0';
      }
    }
    return { parts: { path, query }, fromServer };
  }

  /** Remembers the first ID of a list, for the operations on one item of it (`/v1/sites` → `site_id`). */
  private learnIds(operation: SpecOperation, json: unknown): void {
    const first = (json as { data?: { id?: unknown }[] } | undefined)?.data?.[0]?.id;
    if (typeof first !== 'string') return;
    const child = new RegExp(`^${operation.path.replace(/[{}]/g, '\\$&')}/\\{([^}]+)\\}`);
    for (const other of this.model.specOperations) {
      const name = child.exec(other.path)?.[1];
      if (name !== undefined && !this.known.has(name)) this.known.set(name, first);
    }
  }

  private async checkRead(operation: SpecOperation): Promise<void> {
    const { operationId } = operation;
    const { parts, fromServer } = this.validCall(operation);
    const authorized = operation.public || (!operation.agent && this.holdsScopes(operation));
    if (operation.agent) {
      await this.check(operationId, 'answers a valid request', async () => {
        throw new Skip("an agent route: it needs a device's credentials");
      });
    } else if (!authorized) {
      await this.check(operationId, `is 403 without its scope (${operation.scopes.join(', ')})`, async () =>
        this.expect(await this.send(operation, parts, this.options.token), '403', (status) => status === 403),
      );
    } else {
      await this.check(operationId, 'answers a valid request', async () => {
        const sent = await this.send(operation, parts, operation.public ? undefined : this.options.token);
        if (sent.status < 300) this.learnIds(operation, sent.json);
        // An item the server listed must be there; what hangs off it (an inventory, a screenshot) may not.
        const mustExist =
          fromServer && (pathParameters(operation).length === 0 || operation.path.endsWith('}'));
        // What only a signed-in session may do (one's own passkeys) answers an API token 422 session_required.
        if (this.apiToken && sent.status === 422 && sent.code === 'session_required')
          return this.expect(sent, '', () => true);
        // A public operation taking a credential in its query (an install script's enrolment code) refuses
        // the spec's example of it, and the runner has no real one.
        if (operation.public && sent.status === 401 && requiresQuery(operation))
          throw new Skip('it takes a credential in its query (an enrolment code) the runner does not have');
        return mustExist
          ? this.expect(sent, '2xx', (status) => status < 300)
          : this.expect(sent, '2xx, or 404 for what the server did not list', (s) => s < 300 || s === 404);
      });
    }
    if (!operation.public) await this.checkCredentials(operation, parts);
    if (authorized)
      await this.checkBadInput(operation, parts, operation.public ? undefined : this.options.token);
  }

  private async checkCredentials(operation: SpecOperation, parts: RequestParts): Promise<void> {
    const unknown = operation.agent ? UNKNOWN_AGENT_TOKEN : UNKNOWN_OPERATOR_TOKEN;
    for (const [name, token] of [
      ['is 401 without credentials', undefined],
      ['is 401 with an unknown token', unknown],
    ] as const) {
      await this.check(operation.operationId, name, async () =>
        this.expect(await this.send(operation, parts, token), '401', (status) => status === 401),
      );
    }
  }

  private async checkBadInput(operation: SpecOperation, parts: RequestParts, token?: string): Promise<void> {
    for (const mutation of [...mutationsOf(operation, this.model.deref), unknownQueryParameter]) {
      await this.check(operation.operationId, `refuses ${mutation.description} with 400`, async () => {
        const sent = await this.send(operation, mutation.apply(parts), token);
        const problems = this.expect(sent, '400', (status) => status === 400);
        const paths = ((sent.json as { errors?: { path?: string }[] } | undefined)?.errors ?? []).map(
          (issue) => issue.path ?? '',
        );
        const { blames } = mutation;
        if (sent.status === 400 && blames && !paths.some((path) => path.startsWith(blames)))
          problems.push(
            `${sent.summary}: the problem does not name ${blames} (it names ${paths.join(', ') || 'nothing'})`,
          );
        return problems;
      });
    }
  }

  // --- Writes, inside the scratch site only ---

  private async created(operationId: string, parts: RequestParts): Promise<string | undefined> {
    let id: string | undefined;
    await this.check(operationId, 'creates in the scratch site', async () => {
      const sent = await this.send(this.model.operationById(operationId), parts, this.options.token);
      const created = (sent.json as { id?: unknown } | undefined)?.id;
      if (sent.status === 201 && typeof created === 'string') id = created;
      return this.expect(sent, '201', (status) => status === 201);
    });
    return id;
  }

  private async createScratch(): Promise<Scratch | undefined> {
    const suffix = crypto.randomUUID().slice(0, 8);
    const siteId = await this.created('createSite', {
      body: {
        name: `Conformance scratch ${suffix}`,
        description: 'meridian-conformance removes it when it ends',
      },
    });
    if (siteId === undefined) return undefined;
    this.known.set('site_id', siteId);
    const scratch: Scratch = { siteId, suffix };
    scratch.deviceId = await this.created('registerDevice', {
      body: { name: `conformance-${suffix}`, site_id: siteId, platform: 'linux' },
    });
    if (scratch.deviceId !== undefined) this.known.set('device_id', scratch.deviceId);
    scratch.codeId = await this.created('createEnrollmentCode', {
      path: { site_id: siteId },
      body: { label: `conformance-${suffix}`, max_uses: 1 },
    });
    if (scratch.codeId !== undefined) this.known.set('code_id', scratch.codeId);
    return scratch;
  }

  /** Valid writes in the scratch site, each also refused without credentials, with bad input and as text. */
  private async checkWrites(scratch: Scratch): Promise<void> {
    const calls: [string, RequestParts | undefined][] = [
      [
        'updateSite',
        { path: { site_id: scratch.siteId }, body: { description: 'Checked by meridian-conformance' } },
      ],
      [
        'registerDevice',
        { body: { name: `conformance-${scratch.suffix}-2`, site_id: scratch.siteId, platform: 'linux' } },
      ],
      [
        'updateDevice',
        scratch.deviceId === undefined
          ? undefined
          : {
              path: { device_id: scratch.deviceId },
              body: { name: `conformance-${scratch.suffix}-renamed` },
            },
      ],
      [
        'createEnrollmentCode',
        {
          path: { site_id: scratch.siteId },
          body: { label: `conformance-${scratch.suffix}-2`, max_uses: 1 },
        },
      ],
    ];
    for (const [operationId, parts] of calls) {
      const operation = this.model.operationById(operationId);
      if (parts === undefined) {
        await this.check(operationId, 'answers a valid request', async () => {
          throw new Skip('the scratch device could not be created');
        });
        continue;
      }
      await this.checkCredentials(operation, parts);
      await this.checkBadInput(operation, parts, this.options.token);
      const asText = { ...parts, headers: { 'Content-Type': 'text/plain' } };
      await this.check(operationId, 'refuses a body that is not application/json with 415', async () =>
        this.expect(
          await this.send(operation, asText, this.options.token),
          '415',
          (status) => status === 415,
        ),
      );
      await this.check(operationId, 'answers a valid request', async () =>
        this.expect(await this.send(operation, parts, this.options.token), '2xx', (status) => status < 300),
      );
    }
    if (scratch.codeId !== undefined) {
      const parts = { path: { site_id: scratch.siteId, code_id: scratch.codeId } };
      await this.check('revokeEnrollmentCode', 'answers a valid request', async () =>
        this.expect(
          await this.send(this.model.operationById('revokeEnrollmentCode'), parts, this.options.token),
          '204',
          (status) => status === 204,
        ),
      );
    }
  }

  /** Deletes every device of the scratch site, then the site, and checks it is gone. */
  private async removeScratch(scratch: Scratch): Promise<void> {
    const token = this.options.token;
    await this.check('deleteSite', 'removes the scratch site and its devices', async () => {
      const problems: string[] = [];
      const list = await this.send(
        this.model.operationById('listDevices'),
        { query: { site_id: scratch.siteId, limit: 100 } },
        token,
      );
      const devices = ((list.json as { data?: { id: string }[] } | undefined)?.data ?? []).map((d) => d.id);
      for (const deviceId of devices) {
        const sent = await this.send(
          this.model.operationById('deleteDevice'),
          { path: { device_id: deviceId } },
          token,
        );
        problems.push(...this.expect(sent, '204', (status) => status === 204));
      }
      const site = { path: { site_id: scratch.siteId } };
      problems.push(
        ...this.expect(
          await this.send(this.model.operationById('deleteSite'), site, token),
          '204',
          (s) => s === 204,
        ),
        ...this.expect(
          await this.send(this.model.operationById('getSite'), site, token),
          '404',
          (s) => s === 404,
        ),
      );
      return problems;
    });
  }
}

interface Scratch {
  siteId: string;
  /** Makes the names of what the run creates unique. */
  suffix: string;
  deviceId?: string;
  codeId?: string;
}

export function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  return new ConformanceRun(options).run();
}
