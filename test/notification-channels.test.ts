/**
 * Notification channels: e-mail channels created, read, updated with If-Match and deleted, their
 * SMTP credentials stored only encrypted and never shown; the test send goes to a real SMTP
 * server started here (smtp-server), which receives the message, or refuses the credentials or
 * the recipients, and the answer says so.
 */
import { describe, expect, it } from 'vitest';
import {
  createNotificationChannel,
  deleteNotificationChannel,
  getNotificationChannel,
  listNotificationChannels,
  testNotificationChannel,
  updateNotificationChannel,
} from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { SMTP_PASSWORD, SMTP_USER, smtpSettingsFor, useSmtpReceiver } from './support/smtp';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { unique } from './support/world';

const MISSING = 'nch_01JD8A2B4C6D8E0F2G4H6J8K0M';

describe('notification channels', () => {
  const t = useTestServer();
  const smtp = useSmtpReceiver();

  const email = (overrides: Record<string, unknown> = {}) => ({
    ...smtpSettingsFor(smtp, ['oncall@example.com', 'lead@example.com']),
    ...overrides,
  });
  const create = async (overrides: Record<string, unknown> = {}) =>
    ok(
      await createNotificationChannel({
        client: t.admin,
        body: { name: unique('On-call'), kind: 'email', email: email(overrides) },
      }),
    );
  const sendTest = (channelId: string) =>
    testNotificationChannel({ client: t.admin, path: { channel_id: channelId } });

  it('creates an e-mail channel, storing the credentials only encrypted and never showing the password', async () => {
    const created = await createNotificationChannel({
      client: t.admin,
      body: { name: 'Lisbon on-call', kind: 'email', email: email() },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const channel = ok(created);
    expect(channel).toEqual({
      id: expect.stringMatching(/^nch_/),
      name: 'Lisbon on-call',
      kind: 'email',
      email: {
        host: '127.0.0.1',
        port: smtp.port,
        tls: 'none',
        username: SMTP_USER,
        from: 'meridian@example.com',
        to: ['oncall@example.com', 'lead@example.com'],
      },
      webhook: null,
      enabled: true,
      created_at: expect.any(String),
      updated_at: channel.created_at,
    });
    const stored = await snapshot(t);
    expect(stored).not.toContain(SMTP_PASSWORD);
    expect(stored).not.toContain(`"${SMTP_USER}"`);
    const read = await getNotificationChannel({ client: t.admin, path: { channel_id: channel.id } });
    expect(read.response.headers.get('etag')).toBe('"1"');
    expect(ok(read)).toEqual(channel);
    const listed = ok(await listNotificationChannels({ client: t.admin, query: { limit: 500 } })).data;
    expect(listed).toContainEqual(channel);
    expect(JSON.stringify(listed)).not.toContain(SMTP_PASSWORD);
  });

  it('sends a test e-mail through a real SMTP server, authenticating, to every recipient', async () => {
    const channel = await create();
    const result = ok(await sendTest(channel.id));
    expect(result).toEqual({ delivered: true, latency_ms: expect.any(Number), error: null });
    expect(smtp.messages).toHaveLength(1);
    const [message] = smtp.messages;
    expect(message!.from).toBe('meridian@example.com');
    expect(message!.to).toEqual(['oncall@example.com', 'lead@example.com']);
    expect(message!.raw).toContain(`Subject: [Meridian] Test notification from ${channel.name}`);
    expect(message!.raw).toContain(`sent through the channel ${channel.name} (${channel.id})`);
  });

  it('sends without authenticating when the channel has no credentials', async () => {
    const channel = await create({ username: undefined, password: undefined });
    expect(channel.email!.username).toBeNull();
    expect(ok(await sendTest(channel.id)).delivered).toBe(true);
    expect(smtp.messages[0]!.to).toEqual(['oncall@example.com', 'lead@example.com']);
  });

  it('answers a refused login as an undelivered test, with the server reply', async () => {
    const channel = await create({ password: 'not-the-password' });
    const result = ok(await sendTest(channel.id));
    expect(result.delivered).toBe(false);
    expect(result.error).toMatch(/535/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('answers refused recipients as an undelivered test', async () => {
    const channel = await create();
    smtp.mode = 'refuse-rcpt';
    const result = ok(await sendTest(channel.id));
    expect(result.delivered).toBe(false);
    expect(result.error).toMatch(/550/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('answers an SMTP server that does not listen as an undelivered test', async () => {
    const channel = await create({ port: 9 });
    const result = ok(await sendTest(channel.id));
    expect(result).toMatchObject({ delivered: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('refuses a password without a username, and a username without a password (422)', async () => {
    for (const missing of ['username', 'password'] as const) {
      const before = await snapshot(t);
      const result = await createNotificationChannel({
        client: t.admin,
        body: { name: unique('half'), kind: 'email', email: email({ [missing]: undefined }) },
      });
      const problem = expectProblem(result, 422, 'smtp_credentials_incomplete');
      expect(problem.errors).toEqual([{ path: `/body/email/${missing}`, message: 'missing' }]);
      expect(await snapshot(t)).toBe(before);
    }
  });

  it.each(['169.254.169.254', '0.0.0.0', 'fe80::1'])(
    'refuses an SMTP host at %s (link-local, metadata or reserved: 422)',
    async (host) => {
      const result = await createNotificationChannel({
        client: t.admin,
        body: { name: unique('metadata'), kind: 'email', email: email({ host }) },
      });
      expectProblem(result, 422, 'notification_host_not_allowed');
    },
  );

  it('updates with If-Match; a stale ETag is 412 and changes nothing; new settings replace the credentials', async () => {
    const channel = await create();
    const path = { channel_id: channel.id };
    const renamed = await updateNotificationChannel({
      client: t.admin,
      path,
      headers: { 'If-Match': '"1"' },
      body: { name: 'Renamed', enabled: false },
    });
    expect(renamed.response.headers.get('etag')).toBe('"2"');
    expect(ok(renamed)).toMatchObject({ name: 'Renamed', enabled: false, email: channel.email });
    const before = await snapshot(t);
    const stale = await updateNotificationChannel({
      client: t.admin,
      path,
      headers: { 'If-Match': '"1"' },
      body: { name: 'Lost' },
    });
    expectProblem(stale, 412, 'precondition_failed');
    expect(await snapshot(t)).toBe(before);

    const moved = ok(
      await updateNotificationChannel({
        client: t.admin,
        path,
        body: { email: email({ username: undefined, password: undefined, to: ['night@example.com'] }) },
      }),
    );
    expect(moved.email).toMatchObject({ username: null, to: ['night@example.com'] });
    expect(ok(await sendTest(channel.id)).delivered).toBe(true);
    expect(smtp.messages[0]!.to).toEqual(['night@example.com']);

    const refused = await updateNotificationChannel({
      client: t.admin,
      path,
      body: { email: email({ host: '169.254.169.254' }) },
    });
    expectProblem(refused, 422, 'notification_host_not_allowed');
  });

  it('deletes a channel; afterwards it is 404 everywhere', async () => {
    const channel = await create();
    const path = { channel_id: channel.id };
    const deleted = await deleteNotificationChannel({ client: t.admin, path });
    expect(deleted.response.status).toBe(204);
    expectProblem(await getNotificationChannel({ client: t.admin, path }), 404, 'not_found');
    expectProblem(
      await updateNotificationChannel({ client: t.admin, path, body: { enabled: true } }),
      404,
      'not_found',
    );
    expectProblem(await deleteNotificationChannel({ client: t.admin, path }), 404, 'not_found');
    expectProblem(await sendTest(channel.id), 404, 'not_found');
  });

  it('answers 404 for a channel that never existed', async () => {
    expectProblem(await sendTest(MISSING), 404, 'not_found');
  });
});
