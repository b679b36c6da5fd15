/**
 * Idempotency keys on every creating POST: a retry with the same key and body replays the first
 * answer (and creates nothing more); the same key with another body is 422; a retry while the
 * first request is still running is 409; a failed request releases its key.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createSite, listSites } from '@meridian/sdk';
import { keyDigest } from '../server-stub/src/http/replay-seal';
import { callOperation, validCalls } from './support/operations';
import { ADMIN, ok, startTestServer } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { snapshot } from './support/snapshot';
import { specOperations } from './support/spec';
import { addMember, unique } from './support/world';

const t = useTestServer({ world: true });

const idempotent = specOperations.filter((op) =>
  op.parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
);

it('covers the creating operations', () => {
  expect(idempotent.map((op) => op.operationId).sort()).toEqual([
    'addIncidentNote',
    'cloneDeviceFilter',
    'cloneScript',
    'createAgentRelease',
    'createAlertRule',
    'createApiToken',
    'createCommand',
    'createCustomField',
    'createDeployment',
    'createDeviceFilter',
    'createDeviceView',
    'createEnrollmentCode',
    'createIdentityProvider',
    'createInstaller',
    'createJob',
    'createMonitoredProcess',
    'createNotificationChannel',
    'createPasswordResetToken',
    'createRole',
    'createRollout',
    'createSchedule',
    'createScript',
    'createSite',
    'createUser',
    'createWebhook',
    'importScript',
    'registerDevice',
    'simulateEvent',
  ]);
});

/** What a creating operation answers: 201, or 202 for work that carries on (a queued command). */
const CREATED: Record<string, number> = { createCommand: 202, createJob: 202 };

describe.each(idempotent.map((op) => [op.operationId] as const))('%s', (operationId) => {
  const created = CREATED[operationId] ?? 201;
  const send = (key: string, body: unknown) =>
    callOperation(operationId, t.admin, {
      ...validCalls[operationId]!(t.world),
      body,
      headers: { 'Idempotency-Key': key },
    });

  it('replays the first answer to a retry with the same key, creating nothing more', async () => {
    const key = crypto.randomUUID();
    const { body } = validCalls[operationId]!(t.world);
    const first = await send(key, body);
    expect(first.response.status).toBe(created);
    expect(first.response.headers.get('idempotent-replayed')).toBeNull();
    const before = await snapshot(t);
    const retry = await send(key, body);
    expect(retry.response.status).toBe(created);
    expect(retry.response.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.data).toEqual(first.data);
    expect(retry.response.headers.get('etag')).toBe(first.response.headers.get('etag'));
    expect(retry.response.headers.get('request-id')).toBe(first.response.headers.get('request-id'));
    expect(await snapshot(t)).toBe(before);
  });

  it('stores neither the key nor the response readably (it may hold a one-time secret)', async () => {
    const key = crypto.randomUUID();
    const created = await send(key, validCalls[operationId]!(t.world).body);
    const stored = await snapshot(t);
    expect(stored).not.toContain(key);
    // Whole secrets only: an API token's short display prefix (mtk_ + 6 characters) is stored on purpose.
    const secrets = new Set(
      JSON.stringify(created.data).match(/(?:mtk|mrt|mec|mpr|whsec)_[A-Za-z0-9_+/=-]{20,}/g) ?? [],
    );
    expect(secrets.size).toBe(
      [
        'createApiToken',
        'registerDevice',
        'createEnrollmentCode',
        'createWebhook',
        'createPasswordResetToken',
      ].includes(operationId)
        ? 1
        : 0,
    );
    for (const secret of secrets) expect(stored).not.toContain(secret);
  });

  it('refuses the same key with a different body (422), writing nothing', async () => {
    const key = crypto.randomUUID();
    expect((await send(key, validCalls[operationId]!(t.world).body)).response.status).toBe(created);
    const before = await snapshot(t);
    const reused = await send(key, validCalls[operationId]!(t.world).body);
    expectProblem(reused, 422, 'idempotency_key_reused');
    expect(await snapshot(t)).toBe(before);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const key = crypto.randomUUID();
    const { body, path } = validCalls[operationId]!(t.world);
    const operation = specOperations.find((op) => op.operationId === operationId)!;
    const url = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => path![name]!);
    // What a request in flight leaves behind: the key claimed for this request, no answer yet.
    const { db } = t.server.context;
    const admin = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', ADMIN.username)
      .executeTakeFirstOrThrow();
    const requestHash = createHash('sha256')
      .update(`POST ${url}\n`)
      .update(JSON.stringify(body))
      .digest('hex');
    await db
      .insertInto('idempotency_keys')
      .values({
        owner: admin.id,
        key_digest: keyDigest(key),
        request_hash: requestHash,
        status: null,
        content_type: null,
        response_body: null,
        response_headers: null,
        created_at: t.clock.now().toISOString(),
        locked_until: new Date(t.clock.now().getTime() + 60_000).toISOString(),
      })
      .execute();
    const before = await snapshot(t);
    const concurrent = await send(key, body);
    expectProblem(concurrent, 409, 'idempotency_request_in_progress');
    expect(await snapshot(t)).toBe(before);
  });
});

describe('keys', () => {
  it('are released when the request fails, so a corrected retry runs', async () => {
    const key = crypto.randomUUID();
    const taken = ok(await createSite({ client: t.admin, body: { name: unique('Taken') } }));
    const failed = await createSite({
      client: t.admin,
      body: { name: taken.name },
      headers: { 'Idempotency-Key': key },
    });
    expect(failed.response.status).toBe(409);
    const retried = await createSite({
      client: t.admin,
      body: { name: taken.name },
      headers: { 'Idempotency-Key': key },
    });
    expect(retried.response.status).toBe(409);
    expect(retried.response.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keep a 5xx answer and replay it: the failed request may have written before it failed', async () => {
    const broken = await startTestServer();
    try {
      // A server whose sites table is gone fails every site creation with 500.
      await sql`drop table sites`.execute(broken.server.context.db);
      const key = crypto.randomUUID();
      const body = { name: unique('Broken') };
      const first = await createSite({ client: broken.admin, body, headers: { 'Idempotency-Key': key } });
      expect(first.response.status).toBe(500);
      const retry = await createSite({ client: broken.admin, body, headers: { 'Idempotency-Key': key } });
      expect(retry.response.status).toBe(500);
      expect(retry.response.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.error).toEqual(first.error);
    } finally {
      await broken.close();
    }
  });

  it('belong to one user: another user with the same key makes their own resource', async () => {
    const key = crypto.randomUUID();
    const otherAdmin = await addMember(t, 'admin', []);
    const name = unique('Shared key');
    ok(await createSite({ client: t.admin, body: { name }, headers: { 'Idempotency-Key': key } }));
    const other = await createSite({
      client: otherAdmin.client,
      body: { name: `${name} 2` },
      headers: { 'Idempotency-Key': key },
    });
    expect(ok(other).name).toBe(`${name} 2`);
    const names = ok(await listSites({ client: t.admin, query: { q: name } })).data.map((site) => site.name);
    expect(names.sort()).toEqual([name, `${name} 2`]);
  });

  it('expire after 24 hours: the same key then starts a new request', async () => {
    const key = crypto.randomUUID();
    const name = unique('Expiring');
    ok(await createSite({ client: t.admin, body: { name }, headers: { 'Idempotency-Key': key } }));
    t.clock.advance(25 * 60 * 60 * 1000);
    const later = await createSite({
      client: t.client(await t.signIn(ADMIN.username, ADMIN.password)),
      body: { name: `${name} again` },
      headers: { 'Idempotency-Key': key },
    });
    expect(later.response.status).toBe(201);
    expect(later.response.headers.get('idempotent-replayed')).toBeNull();
  });

  it('expire after 24 hours also before the periodic purge has deleted them', async () => {
    const key = crypto.randomUUID();
    const name = unique('Expiring');
    const admin = t.client(await t.signIn(ADMIN.username, ADMIN.password));
    ok(await createSite({ client: admin, body: { name }, headers: { 'Idempotency-Key': key } }));
    await t.travel(24 * 60 * 60 * 1000 - 30_000);
    // A request with a key of its own purges what has expired by now: not the key above yet.
    ok(
      await createSite({
        client: t.admin,
        body: { name: unique('Other') },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      }),
    );
    await t.clock.advance(31_000);
    const later = await createSite({
      client: t.admin,
      body: { name: `${name} again` },
      headers: { 'Idempotency-Key': key },
    });
    expect(later.response.status).toBe(201);
    expect(later.response.headers.get('idempotent-replayed')).toBeNull();
    const again = await createSite({
      client: t.admin,
      body: { name: `${name} again` },
      headers: { 'Idempotency-Key': key },
    });
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
  });
});
