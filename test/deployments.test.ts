/**
 * Deployments: an installer installed or uninstalled on devices as a job of `install_software` /
 * `uninstall_software` commands. Each target's state follows its command and the stage its agent
 * reports (pending, downloading, installing, uninstalling, succeeded, failed, cancelled), devices
 * of another platform or device type are unsupported, cancel stops what has not started, retry
 * runs the failed again, lists filter and count, and operators see their sites' deployments only.
 * An uninstall (as a job of uninstall_software) sends nothing to devices whose software block
 * list protects the software, at the start or on retry, and says so in the target.
 * Agents here are driven by hand (poll, progress, result) on the test clock.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cancelDeployment,
  createDeployment,
  createInstaller,
  createJob,
  createSoftwareBlockEntry,
  createSoftwareBlockOverride,
  getDeployment,
  getJob,
  listDeploymentTargets,
  listDeployments,
  listJobTargets,
  pollAgentCommands,
  registerDevice,
  reportAgentCommandProgress,
  reportAgentCommandResult,
  retryDeployment,
  updateDevice,
  type AgentCommand,
  type Deployment,
  type DeploymentCreate,
  type DeploymentTargetState,
  type Installer,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, unique, type Member } from './support/world';

const t = useTestServer();
let siteA: string;
let siteB: string;
let installer: Installer;
let operatorA: Member;

beforeAll(async () => {
  siteA = (await addSite(t)).id;
  siteB = (await addSite(t)).id;
  operatorA = await addMember(t, 'operator', [siteA]);
  installer = ok(
    await createInstaller({
      client: t.admin,
      body: {
        name: unique('Signage player'),
        version: '4.2.0',
        platform: 'linux',
        url: 'https://downloads.example.com/signage-player-4.2.0.sh',
        sha256: 'c'.repeat(64),
        install_arguments: ['--quiet'],
        uninstall_arguments: ['--uninstall', '--quiet'],
        detection: { name: 'Signage Player', version: '4.2' },
      },
    }),
  );
});

const deploy = (body: Partial<DeploymentCreate> & Pick<DeploymentCreate, 'target'>, client = t.admin) =>
  createDeployment({ client, body: { installer_id: installer.id, ...body } });

const targetsOf = async (deployment: Deployment, state?: DeploymentTargetState, client = t.admin) =>
  ok(
    await listDeploymentTargets({
      client,
      path: { deployment_id: deployment.id },
      query: { limit: 100, ...(state ? { state } : {}) },
    }),
  ).data;

const read = async (deployment: Deployment) =>
  ok(await getDeployment({ client: t.admin, path: { deployment_id: deployment.id } }));

/** The agent takes its one command. */
async function take(agent: Agent): Promise<AgentCommand> {
  const { data } = ok(await pollAgentCommands({ client: agent.client }));
  expect(data).toHaveLength(1);
  return data[0]!;
}

const progress = (
  agent: Agent,
  command: AgentCommand,
  body: Parameters<typeof reportAgentCommandProgress>[0]['body'],
) => reportAgentCommandProgress({ client: agent.client, path: { command_id: command.id }, body }).then(ok);

const finish = (agent: Agent, command: AgentCommand, status: 'succeeded' | 'failed') =>
  reportAgentCommandResult({
    client: agent.client,
    path: { command_id: command.id },
    body: {
      status,
      exit_code: status === 'succeeded' ? 0 : 3,
      stdout: 'installing\n',
      stderr: status === 'failed' ? 'disk full\n' : '',
      duration_ms: 1200,
      ...(status === 'failed' ? { error: 'The installer exited with 3.' } : {}),
    },
  }).then(ok);

describe('an install deployment', () => {
  let agents: Agent[];
  let windows: string;
  let edge: Agent;
  let deployment: Deployment;
  let firstCommand: AgentCommand;

  beforeAll(async () => {
    agents = [await addAgent(t, siteA), await addAgent(t, siteA), await addAgent(t, siteA)];
    windows = ok(
      await registerDevice({
        client: t.admin,
        body: { name: unique('windows'), site_id: siteA, platform: 'windows' },
      }),
    ).device.id;
    edge = await addAgent(t, siteA);
    ok(
      await updateDevice({
        client: t.admin,
        path: { device_id: edge.deviceId },
        body: { device_type: 'edge' },
      }),
    );
  });

  it('sends install_software to each device of the installer platform; the others are unsupported', async () => {
    const created = await deploy({
      target: { device_ids: [...agents.map((a) => a.deviceId), windows, edge.deviceId] },
    });
    expect(created.response.status).toBe(201);
    deployment = ok(created);
    expect(deployment).toMatchObject({
      id: expect.stringMatching(/^dpl_/),
      name: `Install ${installer.name} 4.2.0`,
      installer_id: installer.id,
      software_name: installer.name,
      software_version: '4.2.0',
      platform: 'linux',
      action: 'install',
      state: 'running',
      job_id: expect.stringMatching(/^job_/),
      timeout_seconds: 3600,
      attempt: 1,
      counts: { total: 5, pending: 3, downloading: 0, installing: 0, unsupported: 2 },
      finished_at: null,
      cancelled_at: null,
    });
    const job = ok(await getJob({ client: t.admin, path: { job_id: deployment.job_id } }));
    expect(job).toMatchObject({ kind: 'command', command_type: 'install_software', name: deployment.name });

    const unsupported = await targetsOf(deployment, 'unsupported');
    expect(
      Object.fromEntries(unsupported.map((target) => [target.device_id, target.unsupported_reason])),
    ).toEqual({
      [windows]: 'It is for linux, not windows.',
      [edge.deviceId]: 'Devices of type edge have no command install_software.',
    });
    const command = await take(agents[0]!);
    firstCommand = command;
    expect(command).toMatchObject({
      type: 'install_software',
      timeout_seconds: 3600,
      params: {
        installer_id: installer.id,
        name: installer.name,
        version: '4.2.0',
        url: installer.url,
        sha256: installer.sha256,
        arguments: ['--quiet'],
        detection: { name: 'Signage Player', version: '4.2' },
      },
    });
    // Delivered but not begun is still pending; its first progress without a stage is downloading.
    expect((await targetsOf(deployment, 'pending')).map((target) => target.device_id)).toContain(
      agents[0]!.deviceId,
    );
    await progress(agents[0]!, command, { percent: 5 });
    expect(await targetsOf(deployment, 'downloading')).toMatchObject([
      { device_id: agents[0]!.deviceId, state: 'downloading', progress_percent: 5, command_id: command.id },
    ]);
    await progress(agents[0]!, command, { stage: 'downloading', percent: 60, message: '3 of 5 MB' });
    await progress(agents[0]!, command, {
      stage: 'installing',
      percent: 10,
      message: 'Running the installer',
    });
    expect(await targetsOf(deployment, 'installing')).toMatchObject([
      {
        device_id: agents[0]!.deviceId,
        state: 'installing',
        progress_percent: 10,
        progress_message: 'Running the installer',
        started_at: expect.any(String),
        finished_at: null,
      },
    ]);
    expect(await targetsOf(deployment, 'downloading')).toEqual([]);
    expect((await read(deployment)).counts).toMatchObject({
      total: 5,
      pending: 2,
      installing: 1,
      unsupported: 2,
    });
  });

  it('cancel stops the targets that have not started; the others finish as they will', async () => {
    const second = await take(agents[1]!);
    const cancelled = ok(await cancelDeployment({ client: t.admin, path: { deployment_id: deployment.id } }));
    expect(cancelled).toMatchObject({
      state: 'running',
      cancelled_at: expect.any(String),
      counts: { pending: 1, installing: 1, cancelled: 1 },
    });
    expect(ok(await pollAgentCommands({ client: agents[2]!.client })).data).toEqual([]);
    await finish(agents[0]!, firstCommand, 'succeeded');
    await finish(agents[1]!, second, 'failed');
    const ended = await read(deployment);
    expect(ended).toMatchObject({
      state: 'cancelled',
      finished_at: expect.any(String),
      counts: { total: 5, pending: 0, succeeded: 1, failed: 1, cancelled: 1, unsupported: 2 },
    });
    expect(await targetsOf(deployment, 'failed')).toMatchObject([
      {
        device_id: agents[1]!.deviceId,
        state: 'failed',
        exit_code: 3,
        stderr: 'disk full\n',
        error: 'The installer exited with 3.',
        attempts: 1,
      },
    ]);
    expectProblem(
      await cancelDeployment({ client: t.admin, path: { deployment_id: deployment.id } }),
      409,
      'deployment_finished',
    );
  });

  it('retry sends the failed targets a new command, and only those', async () => {
    const retried = await retryDeployment({ client: t.admin, path: { deployment_id: deployment.id } });
    expect(retried.response.status).toBe(202);
    expect(ok(retried)).toMatchObject({
      state: 'running',
      attempt: 2,
      cancelled_at: null,
      counts: { pending: 1, succeeded: 1, failed: 0, cancelled: 1, unsupported: 2 },
    });
    expectProblem(
      await retryDeployment({ client: t.admin, path: { deployment_id: deployment.id } }),
      409,
      'deployment_running',
    );
    expect(ok(await pollAgentCommands({ client: agents[0]!.client })).data).toEqual([]);
    await finish(agents[1]!, await take(agents[1]!), 'succeeded');
    expect(await read(deployment)).toMatchObject({
      state: 'partially_failed',
      counts: { succeeded: 2, failed: 0, cancelled: 1, unsupported: 2 },
    });
    expect(
      (await targetsOf(deployment, 'succeeded')).find((x) => x.device_id === agents[1]!.deviceId),
    ).toMatchObject({ attempts: 2, exit_code: 0 });
    expectProblem(
      await retryDeployment({ client: t.admin, path: { deployment_id: deployment.id } }),
      409,
      'no_failed_targets',
    );
  });

  it('a target whose command expires is failed, and retried', async () => {
    const agent = await addAgent(t, siteB);
    const short = ok(await deploy({ target: { device_ids: [agent.deviceId] }, timeout_seconds: 60 }));
    await t.clock.advance(61_000);
    expect(await read(short)).toMatchObject({ state: 'failed', counts: { total: 1, failed: 1 } });
    expect(await targetsOf(short, 'failed')).toMatchObject([{ device_id: agent.deviceId }]);
    ok(await retryDeployment({ client: t.admin, path: { deployment_id: short.id } }));
    expect((await take(agent)).type).toBe('install_software');
  });
});

describe('an uninstall deployment', () => {
  it('sends uninstall_software with the detection name and the uninstall arguments; running is uninstalling', async () => {
    const agent = await addAgent(t, siteA);
    const deployment = ok(
      await deploy({ action: 'uninstall', name: 'Remove the player', target: { site_ids: [siteA] } }),
    );
    expect(deployment).toMatchObject({ action: 'uninstall', name: 'Remove the player' });
    const command = await take(agent);
    expect(command).toMatchObject({
      type: 'uninstall_software',
      params: {
        installer_id: installer.id,
        name: 'Signage Player',
        version: '4.2',
        url: installer.url,
        sha256: installer.sha256,
        arguments: ['--uninstall', '--quiet'],
      },
    });
    await progress(agent, command, { percent: 50 });
    expect(await targetsOf(deployment, 'uninstalling')).toMatchObject([
      { device_id: agent.deviceId, state: 'uninstalling', progress_percent: 50 },
    ]);
    await finish(agent, command, 'succeeded');
    expect(await targetsOf(deployment, 'succeeded')).toMatchObject([{ device_id: agent.deviceId }]);
  });
});

describe('an uninstall deployment and the software block list', () => {
  it('sends nothing to devices that block the software, saying why, not even on retry; an exempt device uninstalls', async () => {
    const site = (await addSite(t)).id;
    const [byEntry, byOwnBlock, exempt, failsThenBlocked, failsTwice] = await Promise.all(
      [1, 2, 3, 4, 5].map(() => addAgent(t, site)),
    );
    const software = unique('Kiosk shell');
    const kiosk = ok(
      await createInstaller({
        client: t.admin,
        body: {
          name: software,
          version: '2.0.0',
          platform: 'linux',
          url: 'https://downloads.example.com/kiosk-shell-2.0.0.sh',
          sha256: 'd'.repeat(64),
          uninstall_arguments: ['--remove'],
          detection: { name: software },
        },
      }),
    );
    // The entry names a publisher and a version the installer's detection rule leaves open: it
    // may remove that one, so the entry still blocks it.
    const entry = ok(
      await createSoftwareBlockEntry({
        client: t.admin,
        body: {
          name_pattern: `${software.slice(0, 5)}*`,
          publisher: 'Acme',
          version: '2.0',
          reason: 'Lobby screens',
        },
      }),
    );
    const override = (device: Agent, body: Parameters<typeof createSoftwareBlockOverride>[0]['body']) =>
      createSoftwareBlockOverride({ client: t.admin, path: { device_id: device.deviceId }, body }).then(ok);
    await override(exempt!, { effect: 'exempt', block_entry_id: entry.id, reason: 'Being replaced' });
    await override(failsThenBlocked!, { effect: 'exempt', block_entry_id: entry.id, reason: 'Spare' });
    await override(failsTwice!, { effect: 'exempt', block_entry_id: entry.id, reason: 'Spare' });
    const ownBlock = await override(byOwnBlock!, {
      effect: 'block',
      name_pattern: software.toUpperCase(),
      reason: 'Front desk',
    });

    const deployment = ok(
      await createDeployment({
        client: t.admin,
        body: { installer_id: kiosk.id, action: 'uninstall', target: { site_ids: [site] } },
      }),
    );
    expect(deployment.counts).toMatchObject({ total: 5, pending: 3, unsupported: 2 });
    const blocked = await targetsOf(deployment, 'unsupported');
    expect(Object.fromEntries(blocked.map((target) => [target.device_id, target]))).toEqual({
      [byEntry!.deviceId]: expect.objectContaining({
        command_id: null,
        attempts: 0,
        unsupported_reason: `software_blocked: ${software} must not be uninstalled (block list entry ${entry.id}): Lobby screens`,
      }),
      [byOwnBlock!.deviceId]: expect.objectContaining({
        command_id: null,
        unsupported_reason: `software_blocked: ${software} must not be uninstalled (device override ${ownBlock.id}): Front desk`,
      }),
    });
    for (const agent of [byEntry!, byOwnBlock!])
      expect(ok(await pollAgentCommands({ client: agent.client })).data).toEqual([]);

    const [removed, first, second] = [
      await take(exempt!),
      await take(failsThenBlocked!),
      await take(failsTwice!),
    ];
    expect(removed).toMatchObject({
      type: 'uninstall_software',
      params: { name: software, arguments: ['--remove'] },
    });
    await finish(exempt!, removed, 'succeeded');
    await finish(failsThenBlocked!, first, 'failed');
    await finish(failsTwice!, second, 'failed');
    expect(await read(deployment)).toMatchObject({
      state: 'partially_failed',
      counts: { total: 5, succeeded: 1, failed: 2, unsupported: 2 },
    });

    // Blocked since it failed: the retry sends it nothing either, and it shows why.
    const lateBlock = await override(failsThenBlocked!, {
      effect: 'block',
      name_pattern: software,
      reason: 'Kept after all',
    });
    const retried = ok(await retryDeployment({ client: t.admin, path: { deployment_id: deployment.id } }));
    expect(retried).toMatchObject({ attempt: 2, counts: { pending: 1, failed: 0, unsupported: 3 } });
    expect((await take(failsTwice!)).type).toBe('uninstall_software');
    for (const agent of [byEntry!, byOwnBlock!, failsThenBlocked!])
      expect(ok(await pollAgentCommands({ client: agent.client })).data).toEqual([]);
    expect(
      (await targetsOf(deployment, 'unsupported')).find(
        (target) => target.device_id === failsThenBlocked!.deviceId,
      ),
    ).toMatchObject({
      command_id: null,
      unsupported_reason: `software_blocked: ${software} must not be uninstalled (device override ${lateBlock.id}): Kept after all`,
    });

    // Installing is not uninstalling: the block list leaves install deployments alone.
    const install = ok(
      await createDeployment({
        client: t.admin,
        body: { installer_id: kiosk.id, target: { device_ids: [byEntry!.deviceId] } },
      }),
    );
    expect(install.counts).toMatchObject({ total: 1, pending: 1, unsupported: 0 });
  });
});

describe('a job of uninstall_software', () => {
  it('keeps to the block list as deployments do', async () => {
    const [blocked, free] = [await addAgent(t, siteB), await addAgent(t, siteB)];
    const software = unique('Badge reader');
    const entry = ok(
      await createSoftwareBlockEntry({
        client: t.admin,
        body: { name_pattern: software, reason: 'Security' },
      }),
    );
    ok(
      await createSoftwareBlockOverride({
        client: t.admin,
        path: { device_id: free.deviceId },
        body: { effect: 'exempt', block_entry_id: entry.id, reason: 'Replaced' },
      }),
    );
    const job = ok(
      await createJob({
        client: t.admin,
        body: {
          command: { type: 'uninstall_software', params: { name: software, version: '3.1' } },
          target: { device_ids: [blocked.deviceId, free.deviceId] },
        },
      }),
    );
    const targets = ok(await listJobTargets({ client: t.admin, path: { job_id: job.id } })).data;
    expect(Object.fromEntries(targets.map((target) => [target.device_id, target.state]))).toEqual({
      [blocked.deviceId]: 'unsupported',
      [free.deviceId]: 'pending',
    });
    expect(targets.find((target) => target.device_id === blocked.deviceId)!.unsupported_reason).toBe(
      `software_blocked: ${software} 3.1 must not be uninstalled (block list entry ${entry.id}): Security`,
    );
    expect(ok(await pollAgentCommands({ client: blocked.client })).data).toEqual([]);
    expect((await take(free)).type).toBe('uninstall_software');
  });
});

describe('deployments listed', () => {
  it('newest first, filtered by state, installer and action; an operator sees those on their sites', async () => {
    const other = ok(
      await createInstaller({
        client: t.admin,
        body: {
          name: unique('Kiosk browser'),
          version: '1.0',
          platform: 'linux',
          url: 'https://downloads.example.com/kiosk-browser-1.0.sh',
          sha256: 'd'.repeat(64),
        },
      }),
    );
    const onA = ok(
      await addAgent(t, siteA).then((agent) =>
        deploy({ installer_id: other.id, target: { device_ids: [agent.deviceId] } }),
      ),
    );
    const onB = ok(
      await addAgent(t, siteB).then((agent) =>
        deploy({ installer_id: other.id, action: 'uninstall', target: { device_ids: [agent.deviceId] } }),
      ),
    );
    const ofOther = ok(await listDeployments({ client: t.admin, query: { installer_id: other.id } }));
    expect(ofOther.data.map((d) => d.id)).toEqual([onB.id, onA.id]);
    const uninstalls = ok(
      await listDeployments({
        client: t.admin,
        query: { installer_id: other.id, action: 'uninstall', state: 'running' },
      }),
    );
    expect(uninstalls.data.map((d) => d.id)).toEqual([onB.id]);
    const page = ok(await listDeployments({ client: t.admin, query: { installer_id: other.id, limit: 1 } }));
    expect(page.data.map((d) => d.id)).toEqual([onB.id]);
    const next = ok(
      await listDeployments({
        client: t.admin,
        query: { installer_id: other.id, limit: 1, cursor: page.next_cursor! },
      }),
    );
    expect(next.data.map((d) => d.id)).toEqual([onA.id]);

    const seen = ok(await listDeployments({ client: operatorA.client, query: { installer_id: other.id } }));
    expect(seen.data.map((d) => d.id)).toEqual([onA.id]);
    expectProblem(
      await getDeployment({ client: operatorA.client, path: { deployment_id: onB.id } }),
      404,
      'not_found',
    );
    expectProblem(
      await deploy({ installer_id: other.id, target: { site_ids: [siteB] } }, operatorA.client),
      422,
      'unknown_site',
    );
  });
});

describe('deployments refused', () => {
  it('of an installer that does not exist: 422 unknown_installer', async () => {
    expectProblem(
      await deploy({ installer_id: 'ins_01JDA1B3C5E7G9J1K3M5P7R9T1', target: { site_ids: [siteA] } }),
      422,
      'unknown_installer',
    );
  });

  it('on devices that do not exist: 422 unknown_device, and nothing is started', async () => {
    const before = ok(
      await listDeployments({ client: t.admin, query: { installer_id: installer.id, limit: 100 } }),
    );
    expectProblem(
      await deploy({ target: { device_ids: ['dev_01JD2M7T4X9K3QH5W8N6R2B4CZ'] } }),
      422,
      'unknown_device',
    );
    const after = ok(
      await listDeployments({ client: t.admin, query: { installer_id: installer.id, limit: 100 } }),
    );
    expect(after.data).toHaveLength(before.data.length);
  });

  it('with a target of more than one kind: 400', async () => {
    expectProblem(
      await deploy({ target: { site_ids: [siteA], device_ids: ['dev_01JD2M7T4X9K3QH5W8N6R2B4CZ'] } }),
      400,
      'validation_failed',
    );
  });
});
