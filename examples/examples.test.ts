/**
 * Runs each example as a user would (a separate process, configured by environment) against a
 * fresh in-memory server, and checks both its output and what it did to the server.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import {
  confirmTotp,
  createCustomField,
  createWebhook,
  downloadAgentReleaseArtifact,
  getAgentRelease,
  listAlertRules,
  listDevices,
  listNotificationChannels,
  listNotifications,
  listSchedules,
  listSites,
  pollAgentCommands,
  reportAgentCommandResult,
  reportAgentUpdateResult,
  sendAgentHeartbeat,
  setDeviceCustomField,
  setupTotp,
  testWebhook,
  webhooks,
} from '@meridian/sdk';
import { addAgent, renewAgent } from '../test/support/agents';
import { freePort } from '../test/support/postgres';
import { ADMIN, ok } from '../test/support/server';
import { useTestServer } from '../test/support/use-test-server';
import { startReceiver } from '../test/support/webhook-receiver';
import { addMember, addSite } from '../test/support/world';

const run = promisify(execFile);
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const example = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

const t = useTestServer();

const withToken = () => ({ env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken } });

/** The low-level layer (hey-api's functions and their client), which examples do not teach. */
const LOW_LEVEL = new Set([
  'createMeridianClient',
  ...[
    ...readFileSync(new URL('../sdk/src/generated/sdk.gen.ts', import.meta.url), 'utf8').matchAll(
      /^export const (\w+)/gm,
    ),
  ].map((match) => match[1]!),
]);

describe('examples', () => {
  it('use the Meridian client, not the low-level functions', () => {
    expect(LOW_LEVEL).toContain('listDevices');
    const files = readdirSync(fileURLToPath(new URL('.', import.meta.url)), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(files).toContain('onboard-site.ts');
    const lowLevel = files.flatMap((file) =>
      [
        ...readFileSync(example(file), 'utf8').matchAll(
          /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'@meridian\/sdk'/g,
        ),
      ]
        .flatMap((match) => match[1]!.split(',').map((name) => name.trim().replace(/^type\s+/, '')))
        .filter((name) => LOW_LEVEL.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(lowLevel).toEqual([]);
  });

  it('onboard-site.ts creates the site once and registers each machine', async () => {
    const args = [example('onboard-site.ts'), 'Lisbon office', 'kiosk-1:windows', 'kiosk-2:linux'];
    const first = await run(TSX, args, withToken());
    expect(first.stdout).toMatch(/^site Lisbon office \(site_/);
    expect(first.stdout.match(/token mrt_/g)).toHaveLength(2);
    await run(TSX, [example('onboard-site.ts'), 'Lisbon office', 'kiosk-3:macos'], withToken());
    const sites = ok(await listSites({ client: t.admin, query: { q: 'Lisbon office' } })).data;
    expect(sites).toHaveLength(1);
    const devices = ok(await listDevices({ client: t.admin, query: { site_id: sites[0]!.id } })).data;
    expect(devices.map((d) => `${d.name}:${d.platform}`)).toEqual([
      'kiosk-1:windows',
      'kiosk-2:linux',
      'kiosk-3:macos',
    ]);
  });

  it('upload-agent-release.ts creates the release once and uploads each build from disk with its SHA-256', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'meridian-build-'));
    try {
      const file = join(directory, 'meridian-agent');
      const bytes = randomBytes(300_000);
      await writeFile(file, bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const upload = (platform: string) =>
        run(TSX, [example('upload-agent-release.ts'), '9.8.7', platform, file, 'beta'], withToken());
      const first = (await upload('linux-amd64')).stdout;
      const id = /^release 9\.8\.7 \((rel_\w+), beta\)/.exec(first)?.[1];
      expect(first).toBe(
        `release 9.8.7 (${id}, beta): linux-amd64 meridian-agent-9.8.7-linux-amd64, 300000 bytes, sha256 ${sha256}\n`,
      );
      expect((await upload('linux-arm64')).stdout).toMatch(`release 9.8.7 (${id}, beta): linux-arm64 `);
      const release = ok(await getAgentRelease({ client: t.admin, path: { release_id: id! } }));
      expect(release.artifacts.map((artifact) => [artifact.platform, artifact.sha256])).toEqual([
        ['linux-amd64', sha256],
        ['linux-arm64', sha256],
      ]);
      const download = await downloadAgentReleaseArtifact({
        client: t.admin,
        path: { release_id: id!, platform: 'linux-arm64' },
        parseAs: 'arrayBuffer',
      });
      expect(Buffer.from(download.data as unknown as ArrayBuffer).equals(bytes)).toBe(true);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('rollout.ts uploads a build, rolls it out to a site in batches and follows it to the end', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'meridian-build-'));
    try {
      const file = join(directory, 'meridian-agent');
      await writeFile(file, randomBytes(4096));
      const site = await addSite(t);
      const agents = [];
      for (let i = 0; i < 4; i++) agents.push(await addAgent(t, site.id));
      const child = spawn(
        TSX,
        [example('rollout.ts'), '7.6.5', 'linux-amd64', file, site.id, '50'],
        withToken(),
      );
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const exited = once(child, 'exit');
      // The agents: each heartbeat that asks for an update is answered with a success.
      while (child.exitCode === null) {
        for (const agent of agents) {
          const ack = ok(
            await sendAgentHeartbeat({
              client: agent.client,
              body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60 },
            }),
          );
          if (ack.agent_update)
            ok(
              await reportAgentUpdateResult({
                client: agent.client,
                body: { rollout_id: ack.agent_update.rollout_id, outcome: 'succeeded', version: '7.6.5' },
              }),
            );
        }
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 200))]);
      }
      const [code] = await exited;
      expect(code, stdout).toBe(0);
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^rollout rlo_\w+: 7\.6\.5 in 2 batches of 2$/);
      expect(lines).toContain('batch 2/2: 4 updated, 0 updating, 0 waiting, 0 failed, 0 skipped');
      expect(lines.at(-1)).toBe('rollout completed');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('device-report.ts signs in with a password and counts devices per site and status', async () => {
    const env = {
      ...process.env,
      MERIDIAN_URL: t.url,
      MERIDIAN_USERNAME: ADMIN.username,
      MERIDIAN_PASSWORD: ADMIN.password,
    };
    const { stdout } = await run(TSX, [example('device-report.ts'), '--platform=windows'], { env });
    expect(stdout).toBe('1 device(s)\n  Lisbon office: 1 pending\n');
  });

  it('device-report.ts --by=<key> counts devices per site and custom field value', async () => {
    ok(
      await createCustomField({
        client: t.admin,
        body: {
          key: 'environment',
          label: 'Environment',
          type: 'enum',
          options: ['production', 'staging'],
          default: 'production',
        },
      }),
    );
    const [windows] = ok(await listDevices({ client: t.admin, query: { platform: 'windows' } })).data;
    ok(
      await setDeviceCustomField({
        client: t.admin,
        path: { device_id: windows!.id, key: 'environment' },
        body: { value: 'staging' },
      }),
    );
    const report = (args: string[]) => run(TSX, [example('device-report.ts'), ...args], withToken());
    expect((await report(['--q=kiosk', '--by=environment'])).stdout).toBe(
      '3 device(s)\n  Lisbon office: 1 staging, 2 production\n',
    );
    await expect(report(['--by=colour'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/no custom field has the key colour; there are: environment/),
    });
  });

  it('explains a refused call and exits non-zero', async () => {
    const env = { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: 'mtk_not-a-real-token' };
    await expect(run(TSX, [example('device-report.ts')], { env })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/Listing devices failed: 401 invalid_token/),
    });
  });

  it('alerting.ts creates a webhook channel and a device_offline rule notifying it, and prints the incidents the event stream carries', async () => {
    const receiver = await startReceiver();
    const endpoint = ok(
      await createWebhook({ client: t.admin, body: { url: receiver.url, event_types: ['webhook.test'] } }),
    );
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    const beat = async () =>
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60 },
        }),
      );
    await beat();
    const child = spawn(
      TSX,
      [example('alerting.ts'), site.id, endpoint.id, '--minutes=2', '--count=2'],
      withToken(),
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = once(child, 'exit');
    // Once it follows the stream, the device goes quiet past the rule's 2 minutes, then comes back.
    await t.clock.waitingOn('event-stream');
    for (let sweep = 0; sweep < 8; sweep++) await t.clock.advance(30_000);
    await beat();
    await t.clock.advance(30_000);
    const [code] = await exited;
    expect(code).toBe(0);
    const channels = ok(await listNotificationChannels({ client: t.admin, query: { limit: 500 } })).data;
    const channel = channels.find((candidate) => candidate.webhook?.webhook_id === endpoint.id)!;
    expect(channel).toMatchObject({ kind: 'webhook', name: `Incidents of ${site.id}`, enabled: true });
    const rules = ok(await listAlertRules({ client: t.admin, query: { kind: 'device_offline' } })).data;
    expect(rules.map((rule) => [rule.scope, rule.channel_ids])).toEqual([
      [{ site_ids: [site.id] }, [channel.id]],
    ]);
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^channel Incidents of ${site.id} \\(${channel.id}\\) delivers to ${endpoint.id}; test delivered in \\d+ ms$`,
        ),
      ),
      expect.stringMatching(/^rule Offline for 2 min \(alr_\w+\) watches site_\w+; following incidents$/),
      expect.stringMatching(/ incident\.opened inc_\w+ Incident opened: Offline for 2 min\./),
      expect.stringMatching(/ incident\.resolved inc_\w+ Incident resolved: /),
      '',
    ]);
    // The channel's endpoint got the test, then both incident events, signed with its secret.
    await t.server.deliverWebhooks();
    const received = await Promise.all(
      receiver.received.map((request) =>
        webhooks.unwrap(request.body, request.headers as Record<string, string>, endpoint.secret, {
          now: t.clock.now(),
        }),
      ),
    );
    await receiver.close();
    expect(received.map((event) => event.type).sort()).toEqual([
      'incident.opened',
      'incident.resolved',
      'webhook.test',
    ]);
    const sent = ok(await listNotifications({ client: t.admin, query: { channel_id: channel.id } })).data;
    expect(sent.map((notification) => [notification.event_type, notification.state])).toEqual([
      ['incident.opened', 'sent'],
      ['incident.resolved', 'sent'],
    ]);
  }, 30_000);

  it('webhook-receiver.ts verifies, unwraps and handles once each webhook the server delivers to it', async () => {
    const port = await freePort();
    const site = await addSite(t);
    const webhook = ok(
      await createWebhook({
        client: t.admin,
        body: { url: `http://127.0.0.1:${port}/`, event_types: ['device.enrolled'], site_id: site.id },
      }),
    );
    const env = { ...process.env, PORT: String(port), MERIDIAN_WEBHOOK_SECRET: webhook.secret };
    const child = spawn(TSX, [example('webhook-receiver.ts'), '--count=2'], { env });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = once(child, 'exit');
    await once(child.stdout, 'data');
    const url = `http://127.0.0.1:${port}/`;

    // a test send, delivered at once: the receiver answered 2xx
    const sent = ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
    expect(sent).toMatchObject({ state: 'delivered', attempts: [{ status_code: 204 }] });
    // the same webhook-id again (as after a lost answer) is answered but not handled twice
    const again = JSON.stringify({
      type: 'webhook.test',
      timestamp: new Date().toISOString(),
      data: { webhook_id: webhook.id, message: 'again' },
    });
    const replay = await fetch(url, {
      method: 'POST',
      headers: {
        ...(await webhooks.sign(again, webhook.secret, { id: sent.id })),
        'content-type': 'application/json',
      },
      body: again,
    });
    expect(replay.status).toBe(204);
    // a body not signed with the endpoint's secret is refused
    const forged = await fetch(url, {
      method: 'POST',
      headers: {
        ...(await webhooks.sign(again, 'whsec_Zm9yZ2VkLXNlY3JldC1rZXktMzItYnl0ZXMhISE=')),
        'content-type': 'application/json',
      },
      body: again,
    });
    expect(forged.status).toBe(400);
    // a real event: the device enrolled
    const agent = await addAgent(t, site.id);
    await t.server.deliverWebhooks();

    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      `listening on http://127.0.0.1:${port}/`,
      `${sent.id} webhook.test: test from endpoint ${webhook.id}`,
      `${sent.id} again: already handled`,
      expect.stringMatching(/^refused: No signature in webhook-signature matches/),
      expect.stringMatching(
        new RegExp(`^dlv_\\w+ device\\.enrolled: ${agent.deviceId} enrolled \\(request enr_\\w+\\)$`),
      ),
      '',
    ]);
  }, 30_000);

  it('maintenance-window.ts schedules a weekly window in the site time zone and prints the last run per device', async () => {
    const site = await addSite(t);
    let agents = [await addAgent(t, site.id), await addAgent(t, site.id)];
    for (const agent of agents)
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60, timezone: 'Europe/Berlin' },
        }),
      );
    const first = await run(TSX, [example('maintenance-window.ts'), site.id], withToken());
    const schedule = ok(await listSchedules({ client: t.admin, query: { limit: 500 } })).data.find(
      (each) => each.name === `Maintenance window: ${site.name}`,
    )!;
    expect(schedule).toMatchObject({
      trigger: { kind: 'cron', cron: '0 2 * * 0', time_zone: 'Europe/Berlin' },
      job: {
        script: { script_id: expect.stringMatching(/^spt_/) },
        target: { filter_id: expect.stringMatching(/^flt_/) },
      },
    });
    expect(first.stdout.split('\n')).toEqual([
      expect.stringMatching(/^created script Weekly maintenance \(spt_\w+\)$/),
      expect.stringMatching(/^created filter Maintained machines of .* \(flt_\w+\)$/),
      `created ${schedule.name} (${schedule.id})`,
      expect.stringMatching(/^next run: Sunday, .* at 02:00 \(Europe\/Berlin\), \d{4}-/),
      'no run yet',
      '',
    ]);

    // The window opens; one device's script succeeds and the other's fails.
    await t.travel(Date.parse(schedule.next_run_at!) - t.clock.now().getTime());
    await t.server.runSchedules();
    agents = await Promise.all(agents.map((agent) => renewAgent(t, agent)));
    for (const [index, agent] of agents.entries()) {
      const [command] = ok(await pollAgentCommands({ client: agent.client })).data;
      expect(command).toMatchObject({ type: 'run_script', params: { language: 'sh' } });
      ok(
        await reportAgentCommandResult({
          client: agent.client,
          path: { command_id: command!.id },
          body:
            index === 0
              ? {
                  status: 'succeeded',
                  exit_code: 0,
                  stdout: 'Vacuuming done, freed 120M\n',
                  stderr: '',
                  duration_ms: 900,
                }
              : {
                  status: 'failed',
                  exit_code: 1,
                  stdout: '',
                  stderr: 'journalctl: not found\n',
                  duration_ms: 20,
                },
        }),
      );
    }
    const second = await run(TSX, [example('maintenance-window.ts'), site.id], withToken());
    const lines = second.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      expect.stringMatching(/^next run: Sunday, .* at 02:00 \(Europe\/Berlin\)/),
      expect.stringMatching(
        /^last run: Sunday, .* at 02:00 \(scheduled\), job job_\w+ partially_failed: 1 succeeded, 1 failed, 0 not finished, of 2$/,
      ),
    ]);
    // Targets are listed in device order: the first agent's, then the second's.
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/: succeeded \(exit 0\) Vacuuming done, freed 120M$/),
      expect.stringMatching(/: failed \(exit 1\) journalctl: not found$/),
      '',
    ]);
  }, 30_000);
});

// A server of its own: the example's authenticator reads the real time, so the server's clock must
// not have been moved forward by the tests above.
describe('sign-in-with-mfa.ts', () => {
  const fresh = useTestServer();

  it('signs in with the password, completes the mfa_required challenge with a TOTP code and reads me', async () => {
    const member = await addMember(fresh, 'operator', []);
    const { secret } = ok(await setupTotp({ client: member.client }));
    // Confirmed with the previous step's code (within the accepted drift), so that the code the
    // example computes, of this step or the next, is not one already used.
    const previous = new TOTP({ secret: Secret.fromBase32(secret) }).generate({
      timestamp: fresh.clock.now().getTime() - 30_000,
    });
    ok(await confirmTotp({ client: member.client, body: { code: previous } }));
    const env = {
      ...process.env,
      MERIDIAN_URL: fresh.url,
      MERIDIAN_USERNAME: member.user.username,
      MERIDIAN_PASSWORD: member.password,
    };
    const { stdout } = await run(TSX, [example('sign-in-with-mfa.ts')], {
      env: { ...env, MERIDIAN_TOTP_SECRET: secret },
    });
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(/^password accepted; a second factor is due before \d{4}-\d\d-\d\dT/),
      `signed in as ${member.user.username} (MFA on)`,
      '',
    ]);
    const wrongSecret = new Secret().base32;
    await expect(
      run(TSX, [example('sign-in-with-mfa.ts')], { env: { ...env, MERIDIAN_TOTP_SECRET: wrongSecret } }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^Sign-in failed: 401 invalid_mfa_code/),
    });
  });
});
