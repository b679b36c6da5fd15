/**
 * Webhook endpoints: created with a secret shown once (and stored encrypted), listed, read and
 * updated with If-Match, deleted, and their secret rotated with the previous one signing for
 * 24 hours more; URLs that resolve to loopback, private, link-local or metadata addresses are
 * refused unless the server allows private targets.
 */
import { describe, expect, it } from 'vitest';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  rotateWebhookSecret,
  updateWebhook,
} from '@meridian/sdk';
import { openWebhookSecret } from '../server-stub/src/integrate/webhook-secrets';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

const DAY_MS = 24 * 60 * 60 * 1000;
const MISSING = 'whk_01JD7Q2M4N6P8R0S2T4V6W8X0Y';

describe('webhook endpoints', () => {
  const t = useTestServer();

  const create = (body: Parameters<typeof createWebhook>[0]['body']) =>
    createWebhook({ client: t.admin, body });

  it('creates an endpoint, showing its secret once and storing it only encrypted', async () => {
    const site = await addSite(t);
    const created = await create({
      url: 'http://127.0.0.1:9/hooks',
      description: 'On-call pager',
      event_types: ['device.offline', 'device.online'],
      site_id: site.id,
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const webhook = ok(created);
    expect(webhook).toMatchObject({
      url: 'http://127.0.0.1:9/hooks',
      description: 'On-call pager',
      event_types: ['device.offline', 'device.online'],
      site_id: site.id,
      enabled: true,
      previous_secret_expires_at: null,
    });
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await snapshot(t)).not.toContain(webhook.secret);
    const stored = await t.server.context.db
      .selectFrom('webhooks')
      .select('secret')
      .where('id', '=', webhook.id)
      .executeTakeFirstOrThrow();
    expect(openWebhookSecret(t.server.context, stored.secret)).toBe(webhook.secret);

    const read = await getWebhook({ client: t.admin, path: { webhook_id: webhook.id } });
    expect(read.response.headers.get('etag')).toBe('"1"');
    expect(ok(read)).not.toHaveProperty('secret');
    const { secret: _secret, ...shown } = webhook;
    expect(ok(read)).toEqual(shown);
    const listed = ok(await listWebhooks({ client: t.admin, query: { limit: 500 } })).data;
    expect(listed).toContainEqual(shown);
  });

  it('defaults to every event type, every site, enabled', async () => {
    const webhook = ok(await create({ url: 'http://127.0.0.1:9/all' }));
    expect(webhook).toMatchObject({ description: '', event_types: null, site_id: null, enabled: true });
  });

  it('refuses a site filter naming an unknown site (422)', async () => {
    const result = await create({ url: 'http://127.0.0.1:9/x', site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M' });
    expectProblem(result, 422, 'unknown_site');
  });

  it('updates with If-Match; a stale ETag is 412 and changes nothing', async () => {
    const webhook = ok(await create({ url: 'http://127.0.0.1:9/update', event_types: ['device.offline'] }));
    const updated = await updateWebhook({
      client: t.admin,
      path: { webhook_id: webhook.id },
      headers: { 'If-Match': '"1"' },
      body: { enabled: false, event_types: null, description: 'Paused' },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(ok(updated)).toMatchObject({ enabled: false, event_types: null, description: 'Paused' });
    const stale = await updateWebhook({
      client: t.admin,
      path: { webhook_id: webhook.id },
      headers: { 'If-Match': '"1"' },
      body: { enabled: true },
    });
    expectProblem(stale, 412, 'precondition_failed');
    expect(ok(await getWebhook({ client: t.admin, path: { webhook_id: webhook.id } })).enabled).toBe(false);
  });

  it('checks a changed URL like a new one (422)', async () => {
    const webhook = ok(await create({ url: 'http://127.0.0.1:9/move' }));
    const moved = await updateWebhook({
      client: t.admin,
      path: { webhook_id: webhook.id },
      body: { url: 'http://169.254.169.254/latest/meta-data/' },
    });
    expectProblem(moved, 422, 'webhook_url_not_allowed');
    expect(ok(await getWebhook({ client: t.admin, path: { webhook_id: webhook.id } })).url).toBe(
      'http://127.0.0.1:9/move',
    );
  });

  it('rotates the secret: the previous one keeps signing for 24 hours', async () => {
    const webhook = ok(await create({ url: 'http://127.0.0.1:9/rotate' }));
    const before = t.clock.now().getTime();
    const rotated = ok(await rotateWebhookSecret({ client: t.admin, path: { webhook_id: webhook.id } }));
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(webhook.secret);
    const expiresIn = Date.parse(rotated.previous_secret_expires_at) - before;
    expect(expiresIn).toBeGreaterThanOrEqual(DAY_MS);
    expect(expiresIn).toBeLessThan(DAY_MS + 60_000);
    const row = await t.server.context.db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', webhook.id)
      .executeTakeFirstOrThrow();
    expect(openWebhookSecret(t.server.context, row.secret)).toBe(rotated.secret);
    expect(openWebhookSecret(t.server.context, row.previous_secret!)).toBe(webhook.secret);
    const read = await getWebhook({ client: t.admin, path: { webhook_id: webhook.id } });
    expect(ok(read).previous_secret_expires_at).toBe(rotated.previous_secret_expires_at);
    expect(read.response.headers.get('etag')).toBe('"2"');
    await t.travel(DAY_MS + 1000);
    expect(
      ok(await getWebhook({ client: t.admin, path: { webhook_id: webhook.id } })).previous_secret_expires_at,
    ).toBeNull();
  });

  it('deletes an endpoint; afterwards it is 404 everywhere', async () => {
    const webhook = ok(await create({ url: 'http://127.0.0.1:9/delete', description: unique('gone') }));
    const path = { webhook_id: webhook.id };
    expect((await deleteWebhook({ client: t.admin, path })).response.status).toBe(204);
    expectProblem(await getWebhook({ client: t.admin, path }), 404, 'not_found');
    expectProblem(await updateWebhook({ client: t.admin, path, body: { enabled: true } }), 404, 'not_found');
    expectProblem(await deleteWebhook({ client: t.admin, path }), 404, 'not_found');
    expectProblem(await rotateWebhookSecret({ client: t.admin, path }), 404, 'not_found');
  });

  it('answers 404 for an endpoint that never existed', async () => {
    expectProblem(await getWebhook({ client: t.admin, path: { webhook_id: MISSING } }), 404, 'not_found');
  });

  it('refuses link-local and metadata addresses even when private targets are allowed', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'http://0.0.0.0/',
    ]) {
      expectProblem(await create({ url }), 422, 'webhook_url_not_allowed');
    }
  });
});

describe('webhook targets on a server that does not allow private addresses', () => {
  const t = useTestServer({ webhooks: { allowPrivateTargets: false } });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://10.1.2.3/hook',
    'http://172.16.0.1/hook',
    'http://192.168.1.10/hook',
    'http://100.64.0.1/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fd12:3456::1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://nowhere.invalid/hook',
  ])('refuses %s (422), creating nothing', async (url) => {
    const before = await snapshot(t);
    const result = await createWebhook({ client: t.admin, body: { url } });
    const problem = expectProblem(result, 422, 'webhook_url_not_allowed');
    expect(problem.errors).toEqual([{ path: '/body/url', message: expect.any(String) }]);
    expect(await snapshot(t)).toBe(before);
  });

  it('accepts a public address', async () => {
    const created = await createWebhook({ client: t.admin, body: { url: 'https://93.184.215.14/hook' } });
    expect(ok(created).url).toBe('https://93.184.215.14/hook');
  });
});
