/**
 * The audit log: changes made through the SDK are recorded with their actor, resource, fields
 * (never a secret) and outcome; listing with filters and cursor, one entry, the NDJSON export,
 * and the hash chain's verification, which points at an entry edited or deleted directly in
 * the database.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  approveEnrollmentRequest,
  createApiToken,
  createUser,
  deleteUser,
  denyEnrollmentRequest,
  exportAuditEvents,
  getCurrentUser,
  getAuditEvent,
  listAuditEvents,
  listUsers,
  login,
  sendAgentHeartbeat,
  Meridian,
  updateUser,
  verifyAuditEvents,
  type AuditEvent,
  type ListAuditEventsData,
} from '@meridian/sdk';
import { checkedFetch } from './support/checked-fetch';
import { expectProblem } from './support/problem';
import { responseViolations } from './support/response-validator';
import { specOperations } from './support/spec';
import { resolveAuditKey } from '../server-stub/src/integrate/audit-key';
import { ADMIN, ok, startTestServer, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addSite, requestEnrollment, unique } from './support/world';
import { addAgent, addCode } from './support/agents';

const t = useTestServer();

const list = async (query: ListAuditEventsData['query'] = {}) =>
  ok(await listAuditEvents({ client: t.admin, query: { limit: 500, ...query } })).data;
const verify = async (query: { since?: string; until?: string; from_id?: string; to_id?: string } = {}) =>
  ok(await verifyAuditEvents({ client: t.admin, query }));
const byRequest = async (response: Response): Promise<AuditEvent> => {
  const entry = (await list()).find((event) => event.request_id === response.headers.get('request-id'));
  if (!entry) throw new Error(`no audit event for request ${response.headers.get('request-id')}`);
  return entry;
};

describe('recording', () => {
  it('records who created what with which fields, never the password or the token', async () => {
    const password = `secret-password-${unique('p')}`;
    const created = await createUser({
      client: t.admin,
      body: { username: unique('audited'), password, role: 'admin' },
      headers: { 'User-Agent': 'audit-test/1.0' },
    });
    const user = ok(created);
    const entry = await byRequest(created.response);
    expect(entry).toMatchObject({
      actor: {
        user_id: ok(await getCurrentUser({ client: t.admin })).user.id,
        api_token_id: null,
        auth_method: 'session',
      },
      operation: 'createUser',
      method: 'POST',
      path: '/v1/users',
      resource_type: 'users',
      resource: user.id,
      changes: { username: user.username, password: '[redacted]', role: 'admin' },
      status: 201,
      user_agent: 'audit-test/1.0',
    });
    expect(entry.client_address).toMatch(/127\.0\.0\.1/);

    const userClient = t.client(await t.signIn(user.username, password));
    const tokenResult = await createApiToken({
      client: userClient,
      body: { name: unique('audit-token'), scopes: ['users:write', 'users:read'] },
    });
    const token = ok(tokenResult);
    expect(await byRequest(tokenResult.response)).toMatchObject({
      actor: { user_id: user.id, api_token_id: null, auth_method: 'session' },
      resource_type: 'api-tokens',
      resource: token.id,
    });

    const renamed = await updateUser({
      client: t.client(token.token),
      path: { user_id: user.id },
      body: { display_name: 'Audited by token' },
    });
    ok(renamed);
    expect(await byRequest(renamed.response)).toMatchObject({
      actor: { user_id: user.id, api_token_id: token.id, auth_method: 'api_token' },
      operation: 'updateUser',
      method: 'PATCH',
      resource_type: 'users',
      resource: user.id,
      changes: { display_name: 'Audited by token' },
      status: 200,
    });

    const everything = JSON.stringify(await list()) + ok(await exportAuditEvents({ client: t.admin }));
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token.token);
  });

  it('records refused changes with their status; not reads, agents, sign-ins or unauthenticated calls', async () => {
    const missing = 'usr_01JD00000000000000000000ZZ';
    const refused = await deleteUser({ client: t.admin, path: { user_id: missing } });
    expectProblem(refused, 404, 'not_found');
    expect(await byRequest(refused.response)).toMatchObject({
      operation: 'deleteUser',
      method: 'DELETE',
      resource_type: 'users',
      resource: missing,
      status: 404,
    });
    const read = await listUsers({ client: t.admin });
    ok(read);
    const agent = await addAgent(t, (await addSite(t)).id);
    const heartbeat = await sendAgentHeartbeat({
      client: agent.client,
      body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60 },
    });
    ok(heartbeat);
    const signIn = await login({
      client: t.client(),
      body: { username: ADMIN.username, password: ADMIN.password },
    });
    ok(signIn);
    const unauthorised = await deleteUser({ client: t.client(), path: { user_id: missing } });
    expectProblem(unauthorised, 401, 'unauthenticated');
    const recorded = new Set((await list()).map((event) => event.request_id));
    for (const { response } of [read, heartbeat, signIn, unauthorised])
      expect(recorded.has(response.headers.get('request-id')!)).toBe(false);
  });

  it('records enrolment decisions', async () => {
    const site = await addSite(t);
    const code = await addCode(t, site.id);
    const approved = await approveEnrollmentRequest({
      client: t.admin,
      path: { request_id: (await requestEnrollment(t, code)).request_id },
      body: { name: 'Approved kiosk' },
    });
    ok(approved);
    const pending = await requestEnrollment(t, code);
    const denied = await denyEnrollmentRequest({
      client: t.admin,
      path: { request_id: pending.request_id },
      body: { reason: 'Not one of ours' },
    });
    ok(denied);
    expect(await byRequest(approved.response)).toMatchObject({
      operation: 'approveEnrollmentRequest',
      resource_type: 'enrollment-requests',
      changes: { name: 'Approved kiosk' },
      status: 200,
    });
    expect(await byRequest(denied.response)).toMatchObject({
      operation: 'denyEnrollmentRequest',
      resource_type: 'enrollment-requests',
      resource: pending.request_id,
      changes: { reason: 'Not one of ours' },
    });
  });
});

describe('reading', () => {
  it('filters by actor, resource, operation and time, and pages with the cursor', async () => {
    const all = await list();
    const creations = await list({ operation: 'createUser' });
    expect(creations.length).toBeGreaterThan(0);
    expect(creations.every((event) => event.operation === 'createUser')).toBe(true);
    const target = creations[0]!;
    expect(await list({ resource: target.resource! })).toContainEqual(target);
    expect(
      (await list({ resource_type: 'enrollment-requests' })).map((event) => event.operation).sort(),
    ).toEqual(['approveEnrollmentRequest', 'denyEnrollmentRequest']);
    const byActor = await list({ actor_user_id: target.actor.user_id });
    expect(byActor.every((event) => event.actor.user_id === target.actor.user_id)).toBe(true);
    expect(await list({ since: all.at(-1)!.occurred_at })).toContainEqual(all.at(-1));
    expect(await list({ until: all[0]!.occurred_at })).toEqual([]);

    const paged: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(
        await listAuditEvents({ client: t.admin, query: { limit: 2, ...(cursor ? { cursor } : {}) } }),
      );
      paged.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(all);
  });

  it('gets one entry, and 404 for an unknown one', async () => {
    const [first] = await list();
    expect(ok(await getAuditEvent({ client: t.admin, path: { audit_event_id: first!.id } }))).toEqual(first);
    expectProblem(
      await getAuditEvent({ client: t.admin, path: { audit_event_id: 'aud_01JD00000000000000000000ZZ' } }),
      404,
      'not_found',
    );
  });

  it('exports the same entries as NDJSON, with the same filters, as text from the SDK', async () => {
    const meridian = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
    const text = await meridian.auditEvents.export({ operation: 'createUser' });
    expect(typeof text).toBe('string');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent);
    expect(lines).toEqual(await list({ operation: 'createUser' }));
    const response = await exportAuditEvents({ client: t.admin });
    expect(response.response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  });

  it('has every exported line checked against the AuditEvent schema', async () => {
    const operation = specOperations.find((op) => op.operationId === 'exportAuditEvents')!;
    const response = await fetch(`${t.url}/v1/audit-events/export`, {
      headers: { Authorization: `Bearer ${t.adminToken}` },
    });
    const observed = { status: 200, headers: response.headers, body: await response.text() };
    expect(responseViolations(operation, observed)).toEqual([]);
    const [line] = observed.body.split('\n');
    const broken = `${line}\n${JSON.stringify({ ...JSON.parse(line!), sequence: 0 })}\nnot json\n`;
    expect(responseViolations(operation, { ...observed, body: broken })).toEqual([
      expect.stringMatching(/^line 2 does not match the schema: line\/sequence must be >= 1/),
      expect.stringMatching(/^line 3 is not JSON/),
    ]);
  });
});

describe('the chain', () => {
  const db = () => t.server.context.db;

  it('verifies intact, whole and from a time on', async () => {
    const all = await list();
    const whole = await verify();
    expect(whole).toEqual({
      intact: true,
      checked_count: all.length,
      first_sequence: 1,
      last_sequence: all.length,
      break: null,
    });
    expect(all.map((event) => event.sequence)).toEqual(all.map((_, i) => i + 1));
    expect(all[1]!.previous_hash).toBe(all[0]!.hash);
    const later = await verify({ since: all[2]!.occurred_at });
    expect(later).toMatchObject({ intact: true, last_sequence: all.length });
  });

  it('points at an entry edited in the database, even with its hash recomputed', async () => {
    const [, second] = await list();
    await db()
      .updateTable('audit_events')
      .set({ changes: JSON.stringify({ display_name: 'forged' }) })
      .where('id', '=', second!.id)
      .execute();
    expect((await verify()).break).toMatchObject({
      audit_event_id: second!.id,
      sequence: 2,
      reason: 'hash_mismatch',
    });
    const { entryHash } = await import('../server-stub/src/integrate/audit-log');
    const row = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('id', '=', second!.id)
      .executeTakeFirstOrThrow();
    await db()
      .updateTable('audit_events')
      .set({ hash: entryHash(row) })
      .where('id', '=', row.id)
      .execute();
    expect((await verify()).break).toMatchObject({ audit_event_id: second!.id, reason: 'hmac_mismatch' });
    // Put it back as it was: the chain is whole again.
    await db()
      .updateTable('audit_events')
      .set({ changes: JSON.stringify(second!.changes), hash: second!.hash })
      .where('id', '=', second!.id)
      .execute();
    expect((await verify()).intact).toBe(true);
  });

  it('verifies from one entry to another, seeing a tampered entry inside the range and not outside it', async () => {
    const all = await list();
    expect(all.length).toBeGreaterThanOrEqual(6);
    const [from, inside, to, after] = [all[1]!, all[2]!, all[3]!, all[4]!];
    const range = { from_id: from.id, to_id: to.id };
    expect(await verify(range)).toEqual({
      intact: true,
      checked_count: 3,
      first_sequence: from.sequence,
      last_sequence: to.sequence,
      break: null,
    });
    expect(await verify({ from_id: to.id })).toMatchObject({
      intact: true,
      first_sequence: to.sequence,
      last_sequence: all.length,
    });
    expect(await verify({ to_id: from.id })).toMatchObject({
      intact: true,
      first_sequence: 1,
      last_sequence: 2,
    });

    const tamper = (entry: AuditEvent, changes: unknown) =>
      db()
        .updateTable('audit_events')
        .set({ changes: JSON.stringify(changes) })
        .where('id', '=', entry.id)
        .execute();
    // Outside the range (right after its end, and the first entry before its start): still intact.
    await tamper(after, { forged: true });
    await tamper(all[0]!, { forged: true });
    expect((await verify(range)).intact).toBe(true);
    expect((await verify()).break).toMatchObject({ audit_event_id: all[0]!.id, reason: 'hash_mismatch' });
    // Inside it: the range points at it.
    await tamper(inside, { forged: true });
    expect(await verify(range)).toMatchObject({
      intact: false,
      checked_count: 1,
      break: { audit_event_id: inside.id, sequence: inside.sequence, reason: 'hash_mismatch' },
    });
    for (const entry of [all[0]!, inside, after]) await tamper(entry, entry.changes);
    expect((await verify()).intact).toBe(true);
  });

  it('refuses a range naming an entry that does not exist, or ending before it starts (422)', async () => {
    const [first, second] = await list();
    const refused = (query: { from_id?: string; to_id?: string }) =>
      verifyAuditEvents({ client: t.admin, query });
    expectProblem(await refused({ from_id: 'aud_01JD6A2B3C4D5E6F7G8H9J0K1M' }), 422, 'unknown_audit_event');
    expectProblem(await refused({ to_id: 'aud_01JD6A2B3C4D5E6F7G8H9J0K1M' }), 422, 'unknown_audit_event');
    expectProblem(await refused({ from_id: second!.id, to_id: first!.id }), 422, 'empty_window');
  });

  it('catches a deleted entry, and deleted newest entries', async () => {
    const all = await list();
    await db().deleteFrom('audit_events').where('id', '=', all[3]!.id).execute();
    expect(await verify()).toMatchObject({
      intact: false,
      checked_count: 3,
      break: { audit_event_id: all[4]!.id, sequence: 4, reason: 'entries_missing' },
    });
    await db()
      .insertInto('audit_events')
      .values(await rowOf(all[3]!))
      .execute();
    expect((await verify()).intact).toBe(true);

    const newest = (await list()).at(-1)!;
    await db().deleteFrom('audit_events').where('id', '=', newest.id).execute();
    expect((await verify()).break).toEqual({
      audit_event_id: null,
      sequence: newest.sequence,
      reason: 'entries_missing',
      detail: expect.stringContaining('newest'),
    });
  });
});

/** The stored row of an entry, to put a deleted one back. */
async function rowOf(event: AuditEvent) {
  return {
    id: event.id,
    sequence: event.sequence,
    occurred_at: event.occurred_at,
    user_id: event.actor.user_id,
    api_token_id: event.actor.api_token_id,
    auth_method: event.actor.auth_method,
    operation: event.operation,
    method: event.method,
    path: event.path,
    resource_type: event.resource_type,
    resource: event.resource,
    changes: JSON.stringify(event.changes),
    status: event.status,
    request_id: event.request_id,
    client_address: event.client_address,
    user_agent: event.user_agent,
    previous_hash: event.previous_hash,
    hash: event.hash,
    hmac: event.hmac,
  };
}

describe('the audit key', () => {
  it('is kept in a file beside a SQLite database, read again on restart, and a different key shows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-audit-'));
    const database = join(dir, 'meridian.sqlite');
    try {
      const change = async (server: TestServer) =>
        ok(
          await createUser({
            client: server.admin,
            body: { username: unique('keyed'), password: 'a-long-enough-password', role: 'viewer' },
          }),
        );
      const firstRun = await startTestServer({ database, auditKey: undefined });
      expect(firstRun.server.auditKeySource).toBe(`${database}.audit-key`);
      await change(firstRun);
      await firstRun.close();
      expect(statSync(`${database}.audit-key`).mode & 0o777).toBe(0o600);

      const restarted = await startTestServer({ database, auditKey: undefined });
      await change(restarted);
      expect(ok(await verifyAuditEvents({ client: restarted.admin })).intact).toBe(true);
      await restarted.close();

      const otherKey = await startTestServer({ database, auditKey: 'another-key-of-at-least-32-characters' });
      expect(ok(await verifyAuditEvents({ client: otherKey.admin })).break).toMatchObject({
        sequence: 1,
        reason: 'hmac_mismatch',
      });
      await otherKey.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('must be given on PostgreSQL, and be long enough', () => {
    expect(() => resolveAuditKey(undefined, 'postgres://db/meridian', 'postgres')).toThrow(
      /MERIDIAN_AUDIT_KEY is required/,
    );
    expect(() => resolveAuditKey('short', ':memory:', 'sqlite')).toThrow(/at least 32 characters/);
  });
});
