/**
 * Rollouts of agent releases (issue 13 §2): batches by size or percentage, the agent learning its
 * target version in the heartbeat answer, downloading and checking the build, reporting the
 * outcome; a rollout pausing itself at its failure threshold; pause, resume, cancel; device
 * timeouts and batch intervals on the test clock; release channels (a device's own, else its
 * site's) deciding which devices take a release.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AgentHeartbeatAck,
  cancelRollout,
  createRollout,
  createWebhook,
  downloadAgentUpdate,
  getDevice,
  getRollout,
  getSite,
  listEvents,
  listRolloutDevices,
  listRollouts,
  pauseRollout,
  reportAgentUpdateResult,
  resumeRollout,
  type Rollout,
  type RolloutCreate,
  sendAgentHeartbeat,
  updateDevice,
  updateSite,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { addRelease, addReleaseWithBuild } from './support/releases';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { startReceiver } from './support/webhook-receiver';
import { expectDeclared } from './support/webhook-events';
import { addSite } from './support/world';

const t = useTestServer();

/** A simulated agent: the version it runs, and whether its updates fail. */
interface Simulated {
  agent: Agent;
  version: string;
  fails: boolean;
}

const beat = async (sim: Simulated): Promise<AgentHeartbeatAck> =>
  ok(
    await sendAgentHeartbeat({
      client: sim.agent.client,
      body: { status: 'ok', agent_version: sim.version, uptime_seconds: 60 },
    }),
  );

/**
 * What the reference agent does with a heartbeat's `agent_update`: download its platform's build,
 * check the SHA-256, "install" it (or fail), report. Returns whether it was asked to update.
 */
async function follow(sim: Simulated): Promise<boolean> {
  const update = (await beat(sim)).agent_update;
  if (!update) return false;
  const build = update.artifacts.find((artifact) => artifact.platform === 'linux-amd64')!;
  expect(build.url).toBe('/v1/agent/update/linux-amd64');
  const download = await downloadAgentUpdate({
    client: sim.agent.client,
    path: { platform: 'linux-amd64' },
    parseAs: 'arrayBuffer',
  });
  const bytes = Buffer.from(ok(download) as unknown as ArrayBuffer);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(build.sha256);
  if (!sim.fails) sim.version = update.version;
  ok(
    await reportAgentUpdateResult({
      client: sim.agent.client,
      body: sim.fails
        ? { rollout_id: update.rollout_id, outcome: 'failed', version: sim.version, error: 'exit code 3' }
        : { rollout_id: update.rollout_id, outcome: 'succeeded', version: update.version },
    }),
  );
  return true;
}

async function fleet(count: number, site?: string): Promise<Simulated[]> {
  const siteId = site ?? (await addSite(t)).id;
  const sims: Simulated[] = [];
  for (let i = 0; i < count; i++)
    sims.push({ agent: await addAgent(t, siteId), version: '1.0.0', fails: false });
  return sims;
}

const rolloutOf = async (id: string): Promise<Rollout> =>
  ok(await getRollout({ client: t.admin, path: { rollout_id: id } }));

async function start(body: RolloutCreate): Promise<Rollout> {
  return ok(await createRollout({ client: t.admin, body }));
}

describe('a release rolled out in batches to 10 simulated agents, one failing', () => {
  it('updates batch after batch, pauses itself at its threshold, and finishes once resumed', async () => {
    const site = await addSite(t);
    const sims = await fleet(10, site.id);
    sims[4]!.fails = true;
    const { release } = await addReleaseWithBuild(t);
    const rollout = await start({
      name: 'Ten kiosks',
      release_id: release.id,
      target: { site_ids: [site.id] },
      batch_size: 3,
      failure_threshold: 1,
    });
    expect(rollout).toMatchObject({
      name: 'Ten kiosks',
      status: 'running',
      version: release.version,
      batch_size: 3,
      batch_count: 4,
      current_batch: 1,
      counts: { updating: 3, pending: 7, succeeded: 0, failed: 0 },
    });
    // Every agent heartbeats in turn; only those of a started batch are told to update. The
    // first batch's last report starts the second; its failing agent's report pauses the rollout,
    // so the agent after it in that batch is not told to update any more.
    for (const sim of sims) await follow(sim);
    expect(await rolloutOf(rollout.id)).toMatchObject({
      status: 'paused',
      pause_reason: 'failure_threshold',
      current_batch: 2,
      counts: { succeeded: 4, failed: 1, updating: 1, pending: 4 },
    });
    expect(sims.map((sim) => sim.version)).toEqual([
      ...Array(4).fill(release.version),
      ...Array(6).fill('1.0.0'),
    ]);
    const failed = ok(
      await listRolloutDevices({
        client: t.admin,
        path: { rollout_id: rollout.id },
        query: { state: 'failed' },
      }),
    ).data;
    expect(failed).toEqual([
      expect.objectContaining({
        device_id: sims[4]!.agent.deviceId,
        batch: 2,
        error: 'exit code 3',
        from_version: '1.0.0',
      }),
    ]);
    const device = ok(await getDevice({ client: t.admin, path: { device_id: sims[0]!.agent.deviceId } }));
    expect(device.agent_version).toBe(release.version);

    ok(await resumeRollout({ client: t.admin, path: { rollout_id: rollout.id } }));
    for (const sim of sims) await follow(sim);
    expect(await rolloutOf(rollout.id)).toMatchObject({
      status: 'completed',
      current_batch: 4,
      counts: { succeeded: 9, failed: 1, pending: 0, updating: 0 },
      finished_at: expect.any(String),
    });
    expect(
      ok(await listRollouts({ client: t.admin, query: { status: 'completed' } })).data.map((r) => r.id),
    ).toContain(rollout.id);
  });

  it('sizes batches by percentage', async () => {
    const site = await addSite(t);
    await fleet(3, site.id);
    const { release } = await addReleaseWithBuild(t);
    const rollout = await start({
      release_id: release.id,
      target: { site_ids: [site.id] },
      batch_percent: 50,
    });
    expect(rollout).toMatchObject({ batch_size: 2, batch_count: 2, counts: { updating: 2, pending: 1 } });
  });
});

describe('on the test clock', () => {
  it('fails a device that does not report in time, and waits out the batch interval', async () => {
    const sims = await fleet(3);
    const { release } = await addReleaseWithBuild(t);
    const rollout = await start({
      release_id: release.id,
      target: { device_ids: sims.map((sim) => sim.agent.deviceId) },
      batch_size: 1,
      failure_threshold: 2,
      batch_interval_seconds: 600,
      device_timeout_seconds: 60,
    });
    expect(await follow(sims[0]!)).toBe(true);
    expect((await rolloutOf(rollout.id)).current_batch).toBe(1);
    await t.clock.advance(599_000);
    await t.server.advanceRollouts();
    expect((await rolloutOf(rollout.id)).current_batch).toBe(1);
    await t.clock.advance(2_000);
    await t.server.advanceRollouts();
    expect(await rolloutOf(rollout.id)).toMatchObject({ current_batch: 2, counts: { updating: 1 } });
    // The second device never reports: a minute later it has failed (one failure, below the threshold).
    expect((await beat(sims[1]!)).agent_update?.version).toBe(release.version);
    await t.clock.advance(61_000);
    await t.server.advanceRollouts();
    const [timedOut] = ok(
      await listRolloutDevices({
        client: t.admin,
        path: { rollout_id: rollout.id },
        query: { state: 'failed' },
      }),
    ).data;
    expect(timedOut).toMatchObject({
      device_id: sims[1]!.agent.deviceId,
      error: 'No outcome reported within 60 seconds.',
    });
    expect(await rolloutOf(rollout.id)).toMatchObject({ status: 'running', current_batch: 2 });
    expect((await beat(sims[1]!)).agent_update).toBeUndefined();
  });
});

describe('pause, resume and cancel', () => {
  it('stops telling agents while paused, and for good once cancelled', async () => {
    const sims = await fleet(2);
    const { release } = await addReleaseWithBuild(t);
    const rollout = await start({
      release_id: release.id,
      target: { device_ids: sims.map((s) => s.agent.deviceId) },
    });
    const path = { rollout_id: rollout.id };
    expect(ok(await pauseRollout({ client: t.admin, path }))).toMatchObject({
      status: 'paused',
      pause_reason: 'operator',
    });
    expectProblem(await pauseRollout({ client: t.admin, path }), 409, 'rollout_not_running');
    expect((await beat(sims[0]!)).agent_update).toBeUndefined();
    expect(ok(await resumeRollout({ client: t.admin, path }))).toMatchObject({
      status: 'running',
      pause_reason: null,
    });
    expectProblem(await resumeRollout({ client: t.admin, path }), 409, 'rollout_not_paused');
    expect((await beat(sims[0]!)).agent_update?.rollout_id).toBe(rollout.id);
    expect(ok(await cancelRollout({ client: t.admin, path }))).toMatchObject({
      status: 'cancelled',
      counts: { cancelled: 2, updating: 0 },
    });
    expectProblem(await cancelRollout({ client: t.admin, path }), 409, 'rollout_finished');
    expect((await beat(sims[0]!)).agent_update).toBeUndefined();
    expectProblem(
      await reportAgentUpdateResult({
        client: sims[0]!.agent.client,
        body: { rollout_id: rollout.id, outcome: 'succeeded', version: release.version },
      }),
      409,
      'update_not_expected',
    );
  });

  it('rolls back by rolling out the older release, which takes the devices over', async () => {
    const sims = await fleet(2);
    const older = await addReleaseWithBuild(t);
    const newer = await addReleaseWithBuild(t);
    const target = { device_ids: sims.map((s) => s.agent.deviceId) };
    const first = await start({ release_id: newer.release.id, target, batch_size: 1 });
    await follow(sims[0]!);
    const back = await start({ release_id: older.release.id, target });
    expect(back.counts).toMatchObject({ updating: 2, skipped: 0 });
    expect(await rolloutOf(first.id)).toMatchObject({ counts: { succeeded: 1, cancelled: 1 } });
    for (const sim of sims) await follow(sim);
    expect(sims.map((sim) => sim.version)).toEqual([older.release.version, older.release.version]);
  });
});

describe('what the agent reports', () => {
  it('refuses a success with another version (422), and a rollout the device is not in (404)', async () => {
    const [sim, other] = await fleet(2);
    const { release } = await addReleaseWithBuild(t);
    const rollout = await start({ release_id: release.id, target: { device_ids: [sim!.agent.deviceId] } });
    expectProblem(
      await reportAgentUpdateResult({
        client: sim!.agent.client,
        body: { rollout_id: rollout.id, outcome: 'succeeded', version: '9.9.9' },
      }),
      422,
      'update_version_mismatch',
    );
    expectProblem(
      await reportAgentUpdateResult({
        client: other!.agent.client,
        body: { rollout_id: rollout.id, outcome: 'failed', version: '1.0.0' },
      }),
      404,
      'not_found',
    );
  });

  it('downloads ranges of the build, and 404s without an update to download', async () => {
    const [sim, idle] = await fleet(2);
    const { release, bytes } = await addReleaseWithBuild(t);
    await start({ release_id: release.id, target: { device_ids: [sim!.agent.deviceId] } });
    const part = await downloadAgentUpdate({
      client: sim!.agent.client,
      path: { platform: 'linux-amd64' },
      headers: { Range: 'bytes=10-19' },
      parseAs: 'arrayBuffer',
    });
    expect(part.response.status).toBe(206);
    expect(Buffer.from(part.data as unknown as ArrayBuffer)).toEqual(bytes.subarray(10, 20));
    expectProblem(
      await downloadAgentUpdate({
        client: sim!.agent.client,
        path: { platform: 'linux-amd64' },
        headers: { Range: `bytes=${bytes.length + 10}-` },
      }),
      416,
      'range_not_satisfiable',
    );
    expectProblem(
      await downloadAgentUpdate({ client: sim!.agent.client, path: { platform: 'windows-amd64' } }),
      404,
      'not_found',
    );
    expectProblem(
      await downloadAgentUpdate({ client: idle!.agent.client, path: { platform: 'linux-amd64' } }),
      404,
      'not_found',
    );
  });
});

describe('release channels', () => {
  it("a device follows its own channel, else its site's, else stable; others' releases skip it", async () => {
    const site = await addSite(t);
    const [own, inherits, stable] = await fleet(3, site.id);
    expect(
      ok(await updateSite({ client: t.admin, path: { site_id: site.id }, body: { channel: 'beta' } }))
        .channel,
    ).toBe('beta');
    expect(
      ok(
        await updateDevice({
          client: t.admin,
          path: { device_id: stable!.agent.deviceId },
          body: { channel: 'stable' },
        }),
      ).channel,
    ).toBe('stable');
    expect(
      ok(await getDevice({ client: t.admin, path: { device_id: own!.agent.deviceId } })).channel,
    ).toBeNull();
    ok(
      await updateDevice({
        client: t.admin,
        path: { device_id: own!.agent.deviceId },
        body: { channel: 'canary' },
      }),
    );
    const beta = await addRelease(t, 'beta');
    const rollout = await start({ release_id: beta.id, target: { site_ids: [site.id] } });
    expect(rollout.counts).toMatchObject({ updating: 1, skipped: 2 });
    const skipped = ok(
      await listRolloutDevices({
        client: t.admin,
        path: { rollout_id: rollout.id },
        query: { state: 'skipped' },
      }),
    ).data;
    expect(skipped.map((d) => [d.device_id, d.error])).toEqual([
      [own!.agent.deviceId, 'It follows the canary channel, not beta.'],
      [stable!.agent.deviceId, 'It follows the stable channel, not beta.'],
    ]);
    expect((await beat(inherits!)).agent_update?.version).toBe(beta.version);
    ok(await updateSite({ client: t.admin, path: { site_id: site.id }, body: { channel: null } }));
    expect(ok(await getSite({ client: t.admin, path: { site_id: site.id } })).channel).toBeNull();
    expectProblem(
      await createRollout({
        client: t.admin,
        body: { release_id: (await addRelease(t, 'beta')).id, target: { site_ids: [site.id] } },
      }),
      422,
      'rollout_no_devices',
    );
  });

  it('refuses an unknown release (422) and both batch_size and batch_percent (400)', async () => {
    const [sim] = await fleet(1);
    const target = { device_ids: [sim!.agent.deviceId] };
    expectProblem(
      await createRollout({
        client: t.admin,
        body: { release_id: 'rel_01JD5Z8Y7X6W5V4T3S2R1Q0P9N', target },
      }),
      422,
      'unknown_agent_release',
    );
    expectProblem(
      await createRollout({
        client: t.admin,
        body: { release_id: (await addRelease(t)).id, target, batch_size: 1, batch_percent: 10 },
      }),
      400,
      'validation_failed',
    );
  });
});

describe('rollout events', () => {
  it('raises each step once, delivered as the spec declares its webhook', async () => {
    const receiver = await startReceiver();
    try {
      const types = [
        'rollout.started',
        'rollout.paused',
        'rollout.resumed',
        'rollout.completed',
        'rollout.cancelled',
        'rollout.device_failed',
      ];
      ok(await createWebhook({ client: t.admin, body: { url: receiver.url, event_types: types } }));
      const site = await addSite(t);
      const sims = await fleet(2, site.id);
      sims[0]!.fails = true;
      const first = await start({
        name: 'Events',
        release_id: (await addReleaseWithBuild(t)).release.id,
        target: { site_ids: [site.id] },
        batch_size: 1,
        device_timeout_seconds: 60,
      });
      await follow(sims[0]!); // fails: the rollout pauses at its threshold of 1
      ok(await resumeRollout({ client: t.admin, path: { rollout_id: first.id } }));
      expect((await beat(sims[1]!)).agent_update?.rollout_id).toBe(first.id);
      await t.clock.advance(61_000);
      await t.server.advanceRollouts(); // the second device timed out: paused again
      ok(await cancelRollout({ client: t.admin, path: { rollout_id: first.id } }));

      const second = await start({
        release_id: (await addReleaseWithBuild(t)).release.id,
        target: { device_ids: [sims[1]!.agent.deviceId] },
      });
      ok(await pauseRollout({ client: t.admin, path: { rollout_id: second.id } }));
      ok(await resumeRollout({ client: t.admin, path: { rollout_id: second.id } }));
      await follow(sims[1]!);

      // Rollouts of the tests before may time out too when the clock moves: only these two count.
      const mine = [first.id, second.id];
      const raised = ok(await listEvents({ client: t.admin, query: { limit: 500 } }))
        .data.filter((event) => mine.includes(event.data.rollout_id as string))
        .map((event) => ({
          rollout: event.data.rollout_id === first.id ? 'first' : 'second',
          type: event.type,
          severity: event.severity,
          site_id: event.site_id,
          device_id: event.device_id,
          pause_reason: event.data.pause_reason,
          error: event.data.error,
        }));
      const rolloutWide = { site_id: null, device_id: null, error: undefined };
      const failedOn = (sim: Simulated, error: string) => ({
        type: 'rollout.device_failed',
        severity: 'warning',
        site_id: site.id,
        device_id: sim.agent.deviceId,
        pause_reason: null,
        error,
      });
      const expected = [
        { rollout: 'first', type: 'rollout.started', severity: 'info', pause_reason: null },
        { rollout: 'first', ...failedOn(sims[0]!, 'exit code 3') },
        { rollout: 'first', type: 'rollout.paused', severity: 'warning', pause_reason: 'failure_threshold' },
        { rollout: 'first', type: 'rollout.resumed', severity: 'info', pause_reason: null },
        { rollout: 'first', ...failedOn(sims[1]!, 'No outcome reported within 60 seconds.') },
        { rollout: 'first', type: 'rollout.paused', severity: 'warning', pause_reason: 'failure_threshold' },
        { rollout: 'first', type: 'rollout.cancelled', severity: 'info', pause_reason: null },
        { rollout: 'second', type: 'rollout.started', severity: 'info', pause_reason: null },
        { rollout: 'second', type: 'rollout.paused', severity: 'info', pause_reason: 'operator' },
        { rollout: 'second', type: 'rollout.resumed', severity: 'info', pause_reason: null },
        { rollout: 'second', type: 'rollout.completed', severity: 'info', pause_reason: null },
      ].map((event) => ({ ...rolloutWide, ...event }));
      const key = (e: { rollout: string; type: string; device_id: string | null; pause_reason: unknown }) =>
        `${e.rollout} ${e.type} ${e.device_id} ${e.pause_reason}`;
      const order = <T extends Parameters<typeof key>[0]>(list: readonly T[]) =>
        [...list].sort((a, b) => key(a).localeCompare(key(b)));
      expect(order(raised)).toEqual(order(expected));

      await t.server.deliverWebhooks();
      await receiver.waitFor(expected.length);
      for (const request of receiver.received) expectDeclared(request.body);
      const delivered = receiver.received.filter((request) =>
        mine.includes(
          (JSON.parse(request.body) as { data: { data: { rollout_id: string } } }).data.data.rollout_id,
        ),
      );
      expect(delivered).toHaveLength(expected.length);
    } finally {
      await receiver.close();
    }
  });
});
