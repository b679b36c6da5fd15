/**
 * Rollouts with several instances: two servers on one PostgreSQL database advance the same
 * rollouts side by side (each on its own test clock, moved together), and each batch of each
 * rollout starts once, with its events raised once.
 */
import { describe, expect, it } from 'vitest';
import { createRollout, getRollout, listEvents } from '@meridian/sdk';
import { usePostgresInstances } from './support/postgres';
import { addRelease } from './support/releases';
import { ok } from './support/server';
import { addDevice, addSite } from './support/world';

const [t, second] = usePostgresInstances();

/** Moves both clocks by `ms` at once (their workers race), then runs both instances' passes together. */
async function tickBoth(ms: number): Promise<void> {
  await Promise.all([t.clock.advance(ms), second.clock.advance(ms)]);
  await Promise.all([t.server.advanceRollouts(), second.server.advanceRollouts()]);
}

describe('two instances on one PostgreSQL database', () => {
  it('start each batch of each rollout once', async () => {
    const site = await addSite(t);
    const release = await addRelease(t);
    const rollouts = [];
    for (let i = 0; i < 10; i++) {
      const devices = [await addDevice(t, site.id), await addDevice(t, site.id), await addDevice(t, site.id)];
      rollouts.push(
        ok(
          await createRollout({
            client: t.admin,
            body: {
              release_id: release.id,
              target: { device_ids: devices.map((device) => device.id) },
              batch_size: 1,
              failure_threshold: 10,
              device_timeout_seconds: 60,
            },
          }),
        ),
      );
    }
    // No agent reports: each minute every batch times out, and the next starts.
    for (const batch of [2, 3]) {
      await tickBoth(61_000);
      for (const rollout of rollouts)
        expect(
          ok(await getRollout({ client: second.admin, path: { rollout_id: rollout.id } })),
        ).toMatchObject({
          status: 'running',
          current_batch: batch,
          counts: { updating: 1, failed: batch - 1, pending: 3 - batch },
        });
    }
    await tickBoth(61_000);
    for (const rollout of rollouts)
      expect(ok(await getRollout({ client: t.admin, path: { rollout_id: rollout.id } }))).toMatchObject({
        status: 'completed',
        counts: { failed: 3 },
      });
    // Each step's event is raised once, by the instance that took the step.
    const ids = new Set(rollouts.map((rollout) => rollout.id));
    const raised = async (type: string) =>
      ok(await listEvents({ client: second.admin, query: { type, limit: 500 } })).data.filter((event) =>
        ids.has(event.data.rollout_id as string),
      ).length;
    expect(await raised('rollout.device_failed')).toBe(30);
    expect(await raised('rollout.completed')).toBe(10);
  });
});
