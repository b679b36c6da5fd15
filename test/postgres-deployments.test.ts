/**
 * Deployments on PostgreSQL: the deployment row written in its job's transaction, target states
 * grouped by command status and reported stage, the state filters, cancel, retry and the
 * filtered, newest-first list, through the SDK against a throwaway cluster.
 */
import { describe, expect, it } from 'vitest';
import {
  cancelDeployment,
  createDeployment,
  createInstaller,
  createSoftwareBlockEntry,
  createSoftwareBlockOverride,
  getDeployment,
  listDeploymentTargets,
  listDeployments,
  pollAgentCommands,
  registerDevice,
  reportAgentCommandProgress,
  reportAgentCommandResult,
  retryDeployment,
  type Deployment,
  type DeploymentTargetState,
} from '@meridian/sdk';
import { addAgent } from './support/agents';
import { usePostgresServer } from './support/postgres';
import { ok } from './support/server';
import { addSite, unique } from './support/world';

const t = usePostgresServer();

const targets = async (deployment: Deployment, state: DeploymentTargetState) =>
  ok(
    await listDeploymentTargets({
      client: t.admin,
      path: { deployment_id: deployment.id },
      query: { limit: 100, state },
    }),
  ).data.map((target) => target.device_id);

describe('deployments on PostgreSQL', () => {
  it('installs on a site, follows stages, cancels what has not started and retries the failed', async () => {
    const site = (await addSite(t)).id;
    const agents = [await addAgent(t, site), await addAgent(t, site), await addAgent(t, site)];
    const windows = ok(
      await registerDevice({
        client: t.admin,
        body: { name: unique('windows'), site_id: site, platform: 'windows' },
      }),
    ).device.id;
    const installer = ok(
      await createInstaller({
        client: t.admin,
        body: {
          name: unique('Signage player'),
          version: '4.2.0',
          platform: 'linux',
          url: 'https://downloads.example.com/signage-player-4.2.0.sh',
          sha256: 'e'.repeat(64),
        },
      }),
    );
    const deployment = ok(
      await createDeployment({
        client: t.admin,
        body: { installer_id: installer.id, target: { site_ids: [site] } },
      }),
    );
    expect(deployment.counts).toMatchObject({ total: 4, pending: 3, unsupported: 1 });
    expect(await targets(deployment, 'unsupported')).toEqual([windows]);

    const [first, second] = [agents[0]!, agents[1]!];
    const commands = await Promise.all(
      [first, second].map(async (agent) => ok(await pollAgentCommands({ client: agent.client })).data[0]!),
    );
    ok(
      await reportAgentCommandProgress({
        client: first.client,
        path: { command_id: commands[0]!.id },
        body: { percent: 20 },
      }),
    );
    ok(
      await reportAgentCommandProgress({
        client: second.client,
        path: { command_id: commands[1]!.id },
        body: { stage: 'installing', percent: 50 },
      }),
    );
    expect(await targets(deployment, 'downloading')).toEqual([first.deviceId]);
    expect(await targets(deployment, 'installing')).toEqual([second.deviceId]);

    const cancelled = ok(await cancelDeployment({ client: t.admin, path: { deployment_id: deployment.id } }));
    expect(cancelled.counts).toMatchObject({ downloading: 1, installing: 1, cancelled: 1, pending: 0 });
    for (const [agent, command, status] of [
      [first, commands[0]!, 'succeeded'],
      [second, commands[1]!, 'failed'],
    ] as const)
      ok(
        await reportAgentCommandResult({
          client: agent.client,
          path: { command_id: command.id },
          body: { status, exit_code: status === 'succeeded' ? 0 : 1, duration_ms: 10 },
        }),
      );
    expect(
      ok(await getDeployment({ client: t.admin, path: { deployment_id: deployment.id } })),
    ).toMatchObject({
      state: 'cancelled',
      counts: { succeeded: 1, failed: 1, cancelled: 1, unsupported: 1 },
    });

    const retried = ok(await retryDeployment({ client: t.admin, path: { deployment_id: deployment.id } }));
    expect(retried).toMatchObject({ state: 'running', attempt: 2, counts: { pending: 1, failed: 0 } });
    expect(await targets(deployment, 'pending')).toEqual([second.deviceId]);

    const uninstall = ok(
      await createDeployment({
        client: t.admin,
        body: { installer_id: installer.id, action: 'uninstall', target: { device_ids: [first.deviceId] } },
      }),
    );
    const listed = ok(await listDeployments({ client: t.admin, query: { installer_id: installer.id } }));
    expect(listed.data.map((d) => d.id)).toEqual([uninstall.id, deployment.id]);
    const running = ok(
      await listDeployments({
        client: t.admin,
        query: { installer_id: installer.id, action: 'install', state: 'running' },
      }),
    );
    expect(running.data.map((d) => d.id)).toEqual([deployment.id]);
  });

  it('an uninstall deployment sends nothing to devices whose block list protects the software', async () => {
    const site = (await addSite(t)).id;
    const [blocked, exempt] = [await addAgent(t, site), await addAgent(t, site)];
    const software = unique('Door controller');
    const installer = ok(
      await createInstaller({
        client: t.admin,
        body: {
          name: software,
          version: '1.0.0',
          platform: 'linux',
          url: 'https://downloads.example.com/door-controller-1.0.0.sh',
          sha256: 'f'.repeat(64),
          detection: { name: software, version: '1.0' },
        },
      }),
    );
    const entry = ok(
      await createSoftwareBlockEntry({
        client: t.admin,
        body: { name_pattern: software.toLowerCase(), reason: 'Opens the doors' },
      }),
    );
    ok(
      await createSoftwareBlockOverride({
        client: t.admin,
        path: { device_id: exempt.deviceId },
        body: { effect: 'exempt', block_entry_id: entry.id, reason: 'Decommissioned' },
      }),
    );
    const deployment = ok(
      await createDeployment({
        client: t.admin,
        body: { installer_id: installer.id, action: 'uninstall', target: { site_ids: [site] } },
      }),
    );
    expect(deployment.counts).toMatchObject({ total: 2, pending: 1, unsupported: 1 });
    expect(await targets(deployment, 'unsupported')).toEqual([blocked.deviceId]);
    expect(ok(await pollAgentCommands({ client: blocked.client })).data).toEqual([]);
    expect(ok(await pollAgentCommands({ client: exempt.client })).data).toMatchObject([
      { type: 'uninstall_software', params: { name: software, version: '1.0' } },
    ]);
  });
});
