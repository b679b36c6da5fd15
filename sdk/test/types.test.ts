/**
 * Type-level tests. The first test compiles this file (and the SDK it imports) with the
 * TypeScript compiler and expects no diagnostics: every `expectTypeOf` below must hold, and
 * every `@ts-expect-error` must still be needed — a wrong call that starts to compile fails it.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type APIError,
  createMeridianClient,
  getDevice,
  Meridian,
  type MeridianError,
  NotFoundError,
  type Page,
  webhooks,
  type APIPromise,
  type APIResponse,
  type ApiTokenCreated,
  type CurrentPrincipal,
  type Device,
  type DeviceRegistration,
  type PagePromise,
  type Problem,
  type Session,
  type Site,
  type User,
  type MeridianWebhookEvent,
  type WebhookEvent,
} from '../src/index';

const THIS_FILE = fileURLToPath(import.meta.url);

describe('types', () => {
  it('this file type-checks: the assertions hold and every @ts-expect-error is needed', () => {
    const configPath = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
    const { config } = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configPath));
    const program = ts.createProgram([THIS_FILE], { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where =
        diagnostic.file && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
          : undefined;
      return `${diagnostic.file?.fileName ?? ''}:${where ? where.line + 1 : '?'}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it('results are typed from the spec', () => {
    const meridian = new Meridian({ baseUrl: 'http://localhost:8080', fetch: async () => new Response() });
    expectTypeOf(meridian.devices.get).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(meridian.devices.get).returns.toEqualTypeOf<APIPromise<Device>>();
    expectTypeOf(meridian.devices.get).returns.resolves.toEqualTypeOf<Device>();
    expectTypeOf(meridian.devices.register).returns.resolves.toEqualTypeOf<DeviceRegistration>();
    expectTypeOf(meridian.devices.update).returns.resolves.toEqualTypeOf<Device>();
    expectTypeOf(meridian.devices.delete).returns.resolves.toBeVoid();
    expectTypeOf(meridian.devices.list).returns.toEqualTypeOf<PagePromise<Device>>();
    expectTypeOf(meridian.devices.list).returns.resolves.toEqualTypeOf<Page<Device>>();
    expectTypeOf<Page<Device>['data']>().toEqualTypeOf<Device[]>();
    expectTypeOf<Page<Device>['nextCursor']>().toEqualTypeOf<string | null>();
    expectTypeOf(meridian.sites.list).returns.resolves.toEqualTypeOf<Page<Site>>();
    expectTypeOf(meridian.users.list).returns.resolves.toEqualTypeOf<Page<User>>();
    expectTypeOf(meridian.apiTokens.create).returns.resolves.toEqualTypeOf<ApiTokenCreated>();
    expectTypeOf(meridian.auth.login).returns.resolves.toEqualTypeOf<Session>();
    expectTypeOf(meridian.auth.getCurrentUser).returns.resolves.toEqualTypeOf<CurrentPrincipal>();
    expectTypeOf(meridian.sites.get)
      .returns.toHaveProperty('withResponse')
      .returns.resolves.toEqualTypeOf<APIResponse<Site>>();
    expectTypeOf(meridian.request<Device>).returns.toEqualTypeOf<APIPromise<Device>>();
    expectTypeOf(meridian.request).returns.resolves.toBeUnknown();
    expectTypeOf(webhooks.unwrap<{ device_id: string }>).returns.resolves.toEqualTypeOf<
      WebhookEvent<{ device_id: string }>
    >();
    expectTypeOf(() =>
      webhooks.unwrap('{}', {}, 'whsec_x'),
    ).returns.resolves.toEqualTypeOf<MeridianWebhookEvent>();
    expectTypeOf<NotFoundError['status']>().toEqualTypeOf<number>();
    expectTypeOf<APIError['headers']>().toEqualTypeOf<Headers>();
    expectTypeOf<MeridianError['status']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<MeridianError['requestId']>().toEqualTypeOf<string | undefined>();
  });

  it("a Meridian webhook's type narrows its data", () => {
    const narrow = (event: MeridianWebhookEvent) => {
      expectTypeOf(event.id).toEqualTypeOf<string>();
      switch (event.type) {
        case 'device.offline':
          expectTypeOf(event.data.type).toEqualTypeOf<'device.offline'>();
          expectTypeOf(event.data.device_id).toEqualTypeOf<string | null>();
          expectTypeOf(event.data.data.offline_after_seconds).toEqualTypeOf<number>();
          expectTypeOf(event.data.data.last_seen_at).toEqualTypeOf<string>();
          // @ts-expect-error: device.offline's data has no exit code
          void event.data.data.exit_code.toFixed();
          break;
        case 'command.failed':
          expectTypeOf(event.data.data.exit_code).toEqualTypeOf<number | null>();
          expectTypeOf(event.data.data.command_id).toEqualTypeOf<string>();
          break;
        case 'incident.opened':
          expectTypeOf(event.data.data.state).toEqualTypeOf<'open' | 'acknowledged' | 'resolved'>();
          expectTypeOf(event.data.data.reopened).toEqualTypeOf<boolean | undefined>();
          break;
        case 'job.finished':
          expectTypeOf(event.data.data.state).toEqualTypeOf<
            'running' | 'succeeded' | 'failed' | 'partially_failed' | 'cancelled'
          >();
          expectTypeOf(event.data.data.counts.failed).toEqualTypeOf<number>();
          break;
        case 'webhook.test':
          // not an Event: the endpoint it was sent to
          expectTypeOf(event.data).toEqualTypeOf<{ webhook_id: string; message: string }>();
          break;
        case 'process.stopped':
          expectTypeOf(event.data.data.previous_state).toEqualTypeOf<
            'running' | 'starting' | 'stopped' | 'crashed' | 'idle' | null
          >();
          break;
        case 'webhook.disabled':
          expectTypeOf(event.data.data.failing_since).toEqualTypeOf<string>();
          break;
        case 'rollout.paused':
          expectTypeOf(event.data.data.pause_reason).toEqualTypeOf<'operator' | 'failure_threshold' | null>();
          break;
        case 'rollout.device_failed':
          expectTypeOf(event.data.data.device_id).toEqualTypeOf<string | undefined>();
          break;
        default:
          // agent events stay apart from the types Meridian raises itself
          expectTypeOf(event.type).toEqualTypeOf<
            | `agent.${string}`
            | 'device.enrolled'
            | 'device.online'
            | 'device.degraded'
            | 'device.credentials_revoked'
            | 'device.token_reuse_detected'
            | 'enrollment.requested'
            | 'command.expired'
            | 'job.started'
            | 'incident.acknowledged'
            | 'incident.resolved'
            | 'process.started'
            | 'rollout.started'
            | 'rollout.resumed'
            | 'rollout.completed'
            | 'rollout.cancelled'
          >();
      }
    };
    const agent = (event: Extract<MeridianWebhookEvent, { type: `agent.${string}` }>) => {
      expectTypeOf(event.data.source).toEqualTypeOf<'agent'>();
      expectTypeOf(event.data.data).toEqualTypeOf<{ [key: string]: unknown }>();
    };
    expect([narrow, agent]).toHaveLength(2);
  });

  it("list filters, bodies and options are the spec's", () => {
    const meridian = new Meridian({ baseUrl: 'http://localhost:8080', fetch: async () => new Response() });
    expectTypeOf(meridian.devices.list).parameter(0).toEqualTypeOf<
      | {
          limit?: number;
          cursor?: string;
          site_id?: string;
          status?: Device['status'];
          platform?: Device['platform'];
          q?: string;
          device_type?: string;
          tag?: string;
          agent_version?: string;
          filter_id?: string;
          filter?: string;
          sort?:
            | 'name'
            | '-name'
            | 'last_seen_at'
            | '-last_seen_at'
            | 'status'
            | '-status'
            | 'created_at'
            | '-created_at';
        }
      | undefined
    >();
    expectTypeOf(meridian.devices.update).parameter(2).toEqualTypeOf<
      | ({
          timeout?: number;
          maxRetries?: number;
          signal?: AbortSignal;
          headers?: import('../src/index').HeadersLike;
        } & { ifMatch?: string })
      | undefined
    >();
  });
});

/** Never called: only compiled. Each commented line must fail to compile. */
export function wrongCalls(meridian: Meridian, device: Device): void {
  // @ts-expect-error: a device id is a string
  void meridian.devices.get(42);
  // @ts-expect-error: the id is required
  void meridian.devices.get();
  // @ts-expect-error: not a status of the spec
  void meridian.devices.list({ status: 'sleeping' });
  // @ts-expect-error: not a filter of the spec
  void meridian.devices.list({ colour: 'red' });
  // @ts-expect-error: limit is a number
  void meridian.devices.list({ limit: '10' });
  // @ts-expect-error: name is required
  void meridian.sites.create({});
  // @ts-expect-error: not a field of SiteCreate
  void meridian.sites.create({ name: 'Lisbon', colour: 'red' });
  // @ts-expect-error: an update needs a body
  void meridian.devices.update(device.id);
  // @ts-expect-error: platform is one of the spec's
  void meridian.devices.register({ name: 'kiosk', site_id: device.site_id, platform: 'amiga' });
  // @ts-expect-error: getDevice takes no If-Match
  void meridian.devices.get(device.id, { ifMatch: '"1"' });
  // @ts-expect-error: login takes no Idempotency-Key (so it is never retried)
  void meridian.auth.login({ username: 'root', password: 'pw' }, { idempotencyKey: 'k' });
  // @ts-expect-error: not an option
  void meridian.sites.get('site_1', { retries: 3 });
  // @ts-expect-error: no such resource
  void meridian.nodes;
  // @ts-expect-error: no such method
  void meridian.devices.create;
  // @ts-expect-error: a Device has no such field
  void device.colour;
  // @ts-expect-error: toArray needs a limit
  void meridian.devices.list().toArray();
  // @ts-expect-error: methods are upper-case HTTP methods
  void meridian.request('get', '/v1/devices');
  // @ts-expect-error: webhooks need the raw body, not a parsed object
  void webhooks.verify({ type: 'x' }, {}, 'whsec_x');
  // @ts-expect-error: credentials is 'cookie' or nothing
  void new Meridian({ baseUrl: 'http://x', credentials: 'include' });
  // @ts-expect-error: baseUrl is required
  void new Meridian({ token: 'mtk_x' });
}

/** Never called: the generated functions' results narrow on their discriminator, `error`. */
export async function narrowing(): Promise<void> {
  const result = await getDevice({
    client: createMeridianClient({ baseUrl: 'http://x' }),
    path: { device_id: 'dev_x' },
  });
  if (result.error === undefined) {
    expectTypeOf(result.data).toEqualTypeOf<Device>();
  } else {
    expectTypeOf(result.error).toEqualTypeOf<Problem>();
    expectTypeOf(result.data).toBeUndefined();
  }
}

/** Never called: what must compile. */
export async function rightCalls(meridian: Meridian): Promise<void> {
  const site = await meridian.sites.create(
    { name: 'Lisbon' },
    { idempotencyKey: 'k', timeout: 5_000, maxRetries: 0 },
  );
  const { device } = await meridian.devices.register({
    name: 'kiosk',
    site_id: site.id,
    platform: 'linux',
    tags: ['a'],
  });
  const { response } = await meridian.devices.get(device.id).withResponse();
  await meridian.devices.update(
    device.id,
    { name: 'Renamed' },
    { ifMatch: response.headers.get('etag') ?? '*', signal: AbortSignal.timeout(1000) },
  );
  for await (const each of meridian.devices.list({ site_id: site.id, status: 'online' }))
    expectTypeOf(each).toEqualTypeOf<Device>();
  const first: Device[] = await meridian.devices.list().toArray({ limit: 10 });
  void first;
  await meridian.users.resetPassword('usr_1', {});
  await meridian.request('DELETE', '/v1/devices/{device_id}', {
    pathParams: { device_id: device.id },
    headers: { 'X-Trace': '1' },
  });
  try {
    await meridian.devices.get('dev_x');
  } catch (error) {
    if (error instanceof NotFoundError) expectTypeOf(error.code).toEqualTypeOf<string | undefined>();
  }
}
