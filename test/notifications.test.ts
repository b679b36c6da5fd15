/**
 * Incident notifications by e-mail: an alert rule names its channels, its incident events write
 * one notification per channel with the event, and the worker sends them through a real SMTP
 * server (smtp-server) started here; refused sends are retried on the TestClock until they end
 * up failed, and GET /v1/notifications lists all of it. Two instances on one PostgreSQL database
 * send each notification once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAlertRule,
  createNotificationChannel,
  listNotifications,
  resolveIncident,
  updateAlertRule,
  updateNotificationChannel,
} from '@meridian/sdk';
import { insertEvent } from '../server-stub/src/observe/events-store';
import { openIncident } from './support/incidents';
import { startPostgres, type Postgres } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok, startTestServer, type TestServer } from './support/server';
import { type SmtpReceiver, smtpSettingsFor, startSmtpReceiver, useSmtpReceiver } from './support/smtp';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { unique } from './support/world';

const MISSING_CHANNEL = 'nch_01JD8A2B4C6D8E0F2G4H6J8K0M';

describe('incident notifications', () => {
  const t = useTestServer();
  const smtp = useSmtpReceiver();

  const addChannel = async (to: string[]) =>
    ok(
      await createNotificationChannel({
        client: t.admin,
        body: {
          name: unique('On-call'),
          kind: 'email',
          email: smtpSettingsFor(smtp, to),
        },
      }),
    );

  it('e-mails every channel of the rule when its incident opens and when it resolves, and lists what was sent', async () => {
    const pager = await addChannel(['oncall@example.com', 'lead@example.com']);
    const team = await addChannel(['team@example.com']);
    const { rule, incident } = await openIncident(t, [pager.id, team.id]);
    await t.server.sendNotifications();

    expect(smtp.messages.map((message) => message.to).sort()).toEqual([
      ['oncall@example.com', 'lead@example.com'],
      ['team@example.com'],
    ]);
    for (const message of smtp.messages) {
      expect(message.from).toBe('meridian@example.com');
      expect(message.raw).toContain(`Subject: [Meridian] Incident opened: ${rule.name}`);
      expect(message.raw).toContain(`Incident: ${incident.id}`);
      expect(message.raw).toContain('Severity: warning');
    }
    const sent = ok(await listNotifications({ client: t.admin, query: { incident_id: incident.id } })).data;
    expect(sent.map((notification) => notification.channel_id).sort()).toEqual([pager.id, team.id].sort());
    for (const notification of sent)
      expect(notification).toMatchObject({
        event_type: 'incident.opened',
        incident_id: incident.id,
        subject: `[Meridian] Incident opened: ${rule.name}`,
        state: 'sent',
        attempt_count: 1,
        last_error: null,
        next_attempt_at: null,
        sent_at: expect.any(String),
      });

    smtp.messages.length = 0;
    ok(await resolveIncident({ client: t.admin, path: { incident_id: incident.id } }));
    await t.server.sendNotifications();
    expect(smtp.messages).toHaveLength(2);
    expect(smtp.messages[0]!.raw).toContain(`Subject: [Meridian] Incident resolved: ${rule.name}`);
    const toPager = ok(
      await listNotifications({ client: t.admin, query: { channel_id: pager.id, incident_id: incident.id } }),
    ).data;
    expect(toPager.map((notification) => notification.event_type)).toEqual([
      'incident.opened',
      'incident.resolved',
    ]);
    // Sent once each: another pass finds nothing due.
    smtp.messages.length = 0;
    await t.server.sendNotifications();
    expect(smtp.messages).toHaveLength(0);
  });

  it('retries a refused e-mail on the schedule, then lists it as failed', async () => {
    const channel = await addChannel(['oncall@example.com']);
    smtp.mode = 'refuse-rcpt';
    const { incident } = await openIncident(t, [channel.id]);
    await t.server.sendNotifications();
    const query = { channel_id: channel.id, incident_id: incident.id };
    let [notification] = ok(await listNotifications({ client: t.admin, query })).data;
    expect(notification).toMatchObject({
      state: 'pending',
      attempt_count: 1,
      last_error: expect.stringMatching(/550/),
    });
    // The TestClock also moves with real time, by the few milliseconds the test takes.
    const firstRetry = Date.parse(notification!.next_attempt_at!) - t.clock.now().getTime();
    expect(firstRetry).toBeGreaterThan(59_000);
    expect(firstRetry).toBeLessThanOrEqual(60_000);

    for (const [attempts, delayMs] of [
      [2, 60_000],
      [3, 5 * 60_000],
      [4, 30 * 60_000],
    ] as const) {
      await t.travel(delayMs - 1000);
      await t.server.sendNotifications();
      expect(ok(await listNotifications({ client: t.admin, query })).data[0]!.attempt_count).toBe(
        attempts - 1,
      );
      await t.travel(1000);
      await t.server.sendNotifications();
      [notification] = ok(await listNotifications({ client: t.admin, query })).data;
      expect(notification).toMatchObject({ state: 'pending', attempt_count: attempts });
    }
    await t.travel(2 * 3600_000);
    await t.server.sendNotifications();
    [notification] = ok(await listNotifications({ client: t.admin, query })).data;
    expect(notification).toMatchObject({
      state: 'failed',
      attempt_count: 5,
      next_attempt_at: null,
      sent_at: null,
      last_error: expect.stringMatching(/550/),
    });
    const failed = ok(
      await listNotifications({ client: t.admin, query: { state: 'failed', limit: 500 } }),
    ).data;
    expect(failed.map((row) => row.id)).toContain(notification!.id);
    expect(smtp.messages).toHaveLength(0);
    await t.travel(24 * 3600_000);
    await t.server.sendNotifications();
    expect(ok(await listNotifications({ client: t.admin, query })).data[0]!.attempt_count).toBe(5);
  });

  it('a refused send that recovers is sent at the next attempt', async () => {
    const recipient = `${unique('recovering')}@example.com`;
    const channel = await addChannel([recipient]);
    smtp.mode = 'refuse-auth';
    const { incident } = await openIncident(t, [channel.id]);
    await t.server.sendNotifications();
    smtp.mode = 'accept';
    await t.travel(60_000);
    await t.server.sendNotifications();
    const [notification] = ok(
      await listNotifications({ client: t.admin, query: { incident_id: incident.id } }),
    ).data;
    expect(notification).toMatchObject({ state: 'sent', attempt_count: 2, last_error: null });
    expect(smtp.messages.filter((message) => message.to.includes(recipient))).toHaveLength(1);
  });

  it('writes nothing for a rule without channels, or whose channel is disabled', async () => {
    const channel = await addChannel(['oncall@example.com']);
    ok(
      await updateNotificationChannel({
        client: t.admin,
        path: { channel_id: channel.id },
        body: { enabled: false },
      }),
    );
    for (const channelIds of [[], [channel.id]]) {
      const { incident } = await openIncident(t, channelIds);
      await t.server.sendNotifications();
      expect(
        ok(await listNotifications({ client: t.admin, query: { incident_id: incident.id } })).data,
      ).toEqual([]);
    }
    expect(smtp.messages).toHaveLength(0);
  });

  it('refuses a rule naming a channel that does not exist (422), at creation and update', async () => {
    const before = await snapshot(t);
    const created = await createAlertRule({
      client: t.admin,
      body: { name: unique('rule'), kind: 'device_offline', channel_ids: [MISSING_CHANNEL] },
    });
    expectProblem(created, 422, 'unknown_notification_channel');
    expect(await snapshot(t)).toBe(before);
    const rule = ok(
      await createAlertRule({ client: t.admin, body: { name: unique('rule'), kind: 'device_offline' } }),
    );
    expect(rule.channel_ids).toEqual([]);
    const updated = await updateAlertRule({
      client: t.admin,
      path: { rule_id: rule.id },
      body: { channel_ids: [MISSING_CHANNEL] },
    });
    expectProblem(updated, 422, 'unknown_notification_channel');
  });
});

describe('incident notifications with two instances on one PostgreSQL database', () => {
  let pg: Postgres;
  let a: TestServer;
  let b: TestServer;
  let smtp: SmtpReceiver;
  beforeAll(async () => {
    pg = await startPostgres();
    const webhooks = { allowPrivateTargets: true, secretsKey: 'a-key-shared-by-every-instance-0123456789' };
    a = await startTestServer({ database: pg.url, webhooks });
    b = await startTestServer({ database: pg.url, webhooks });
    smtp = await startSmtpReceiver();
  });
  afterAll(async () => {
    await smtp?.close();
    await a?.close();
    await b?.close();
    pg?.stop();
  });

  it('sends each notification once', async () => {
    const channel = ok(
      await createNotificationChannel({
        client: a.admin,
        body: {
          name: 'Shared',
          kind: 'email',
          email: smtpSettingsFor(smtp, ['oncall@example.com']),
        },
      }),
    );
    const rule = ok(
      await createAlertRule({
        client: a.admin,
        body: { name: 'Offline', kind: 'device_offline', channel_ids: [channel.id] },
      }),
    );
    // Incident events written without waking either worker, so that both race for the same notifications.
    for (let i = 0; i < 20; i++)
      await insertEvent(a.server.context.db, a.server.context, {
        type: 'incident.opened',
        severity: 'warning',
        siteId: null,
        deviceId: null,
        message: `Incident opened: Offline. Device ${i} is offline`,
        data: { incident_id: `inc_01JD8C3D5F7H9K1M3P5R7T9V${String(i).padStart(2, '0')}`, rule_id: rule.id },
      });
    await Promise.all([a.server.sendNotifications(), b.server.sendNotifications()]);
    expect(smtp.messages).toHaveLength(20);
    const listed = ok(
      await listNotifications({ client: b.admin, query: { channel_id: channel.id, limit: 500 } }),
    ).data;
    expect(listed.map((notification) => [notification.state, notification.attempt_count])).toEqual(
      Array.from({ length: 20 }, () => ['sent', 1]),
    );
  });
});
