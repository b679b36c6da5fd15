/**
 * Jobs: one command per target device sent with the commands machinery, counts by state, each
 * target's result, the job's own state when the last target finishes (with job.started and
 * job.finished events), wait_seconds, cancel, retry of the failed targets only, who may target
 * what, and bad input. Agents here are driven by hand (poll, report) on the test clock.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  archiveDeviceFilter,
  cancelJob,
  createDeviceFilter,
  createJob,
  createScript,
  getDeviceFilterUsage,
  getCommand,
  getJob,
  listEvents,
  listJobTargets,
  listJobs,
  pollAgentCommands,
  reportAgentCommandResult,
  retryJob,
  updateDevice,
  type DeviceFilterExpression,
  type Job,
  type ListJobsData,
  type JobCreate,
  type JobTargetState,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, type Member } from './support/world';

const t = useTestServer();
let siteA: string;
let siteB: string;
let agents: Agent[];
let agentB: Agent;
let operatorA: Member;

beforeAll(async () => {
  siteA = (await addSite(t)).id;
  siteB = (await addSite(t)).id;
  agents = [await addAgent(t, siteA), await addAgent(t, siteA), await addAgent(t, siteA)];
  agentB = await addAgent(t, siteB);
  operatorA = await addMember(t, 'operator', [siteA]);
});

/** An agent on the site whose device is of `deviceType` (agents enrol as workstations). */
async function addAgentOfType(site: string, deviceType: string): Promise<Agent> {
  const agent = await addAgent(t, site);
  ok(
    await updateDevice({
      client: t.admin,
      path: { device_id: agent.deviceId },
      body: { device_type: deviceType },
    }),
  );
  return agent;
}

const start = async (body: Partial<JobCreate> = {}, client = t.admin, waitSeconds?: number) =>
  createJob({
    client,
    body: {
      command: { type: 'echo', params: { text: 'hi' } },
      target: { device_ids: agents.map((a) => a.deviceId) },
      ...body,
    },
    ...(waitSeconds === undefined ? {} : { query: { wait_seconds: waitSeconds } }),
  });

/** The agent takes its commands and reports each as `status`; returns their IDs. */
async function answer(agent: Agent, status: 'succeeded' | 'failed', stdout = 'done\n'): Promise<string[]> {
  const { data } = ok(await pollAgentCommands({ client: agent.client }));
  for (const command of data)
    ok(
      await reportAgentCommandResult({
        client: agent.client,
        path: { command_id: command.id },
        body: {
          status,
          exit_code: status === 'succeeded' ? 0 : 2,
          stdout,
          stderr: status === 'failed' ? 'it broke\n' : '',
          duration_ms: 15,
          ...(status === 'failed' ? { error: 'exit status 2' } : {}),
        },
      }),
    );
  return data.map((command) => command.id);
}

const targetsOf = async (job: Job, state?: JobTargetState) =>
  ok(
    await listJobTargets({
      client: t.admin,
      path: { job_id: job.id },
      query: { limit: 100, ...(state ? { state } : {}) },
    }),
  ).data;

describe('a job on devices', () => {
  it('sends one command per device, counts them by state, and ends partially_failed with each result', async () => {
    const created = await start({ name: 'Say hi' });
    expect(created.response.status).toBe(202);
    const job = ok(created);
    expect(job).toMatchObject({
      name: 'Say hi',
      state: 'running',
      kind: 'command',
      command_type: 'echo',
      params: { text: 'hi' },
      attempt: 1,
      finished_at: null,
      counts: { total: 3, pending: 3, succeeded: 0, unsupported: 0 },
    });

    const [first] = await answer(agents[0]!, 'succeeded', 'hi\n');
    await answer(agents[1]!, 'failed');
    const midway = ok(await getJob({ client: t.admin, path: { job_id: job.id } }));
    expect(midway.state).toBe('running');
    expect(midway.counts).toMatchObject({ total: 3, pending: 1, succeeded: 1, failed: 1 });
    // The target's command is an ordinary command, tied to nothing else.
    expect(ok(await getCommand({ client: t.admin, path: { command_id: first! } }))).toMatchObject({
      status: 'succeeded',
      type: 'echo',
    });

    await answer(agents[2]!, 'succeeded', 'hi\n');
    const done = ok(await getJob({ client: t.admin, path: { job_id: job.id } }));
    expect(done).toMatchObject({
      state: 'partially_failed',
      counts: { succeeded: 2, failed: 1, pending: 0 },
    });
    expect(done.finished_at).not.toBeNull();

    const targets = await targetsOf(job);
    expect(targets.map((target) => target.device_id)).toEqual(agents.map((a) => a.deviceId).sort());
    const failed = targets.find((target) => target.device_id === agents[1]!.deviceId)!;
    expect(failed).toMatchObject({
      state: 'failed',
      exit_code: 2,
      stderr: 'it broke\n',
      error: 'exit status 2',
      attempts: 1,
      output_truncated: false,
    });
    expect((await targetsOf(job, 'failed')).map((target) => target.device_id)).toEqual([agents[1]!.deviceId]);
    expect(targets.find((target) => target.device_id === agents[0]!.deviceId)).toMatchObject({
      state: 'succeeded',
      stdout: 'hi\n',
      command_id: first,
    });

    // The job's targets are all on site A, so its events are site A's: its operator sees them.
    const events = ok(await listEvents({ client: operatorA.client, query: { limit: 500 } })).data.filter(
      (event) => (event.data as { job_id?: string }).job_id === job.id,
    );
    expect(events.map((event) => [event.type, event.site_id])).toEqual([
      ['job.started', siteA],
      ['job.finished', siteA],
    ]);
    expect(events[1]!.data).toMatchObject({ state: 'partially_failed', counts: { succeeded: 2, failed: 1 } });
  });

  it('ends succeeded when every target succeeds, and failed when none does', async () => {
    const good = ok(await start());
    for (const agent of agents) await answer(agent, 'succeeded');
    expect(ok(await getJob({ client: t.admin, path: { job_id: good.id } })).state).toBe('succeeded');
    const bad = ok(await start());
    for (const agent of agents) await answer(agent, 'failed');
    expect(ok(await getJob({ client: t.admin, path: { job_id: bad.id } })).state).toBe('failed');
  });

  it('keeps the last 4 KiB of long output and says it cut it', async () => {
    const job = ok(await start({ target: { device_ids: [agents[0]!.deviceId] } }));
    await answer(agents[0]!, 'succeeded', `${'x'.repeat(5000)}END`);
    const [target] = await targetsOf(job);
    expect(target!.stdout).toHaveLength(4096);
    expect(target!.stdout.endsWith('END')).toBe(true);
    expect(target!.output_truncated).toBe(true);
  });
});

describe('targets', () => {
  it('runs on every device of a site, marking devices that cannot run the command unsupported', async () => {
    const site = (await addSite(t)).id;
    const workstation = await addAgent(t, site);
    const edge = await addAgentOfType(site, 'edge');
    const job = ok(
      await start({
        command: { type: 'restart_process', params: { process_name: 'player' } },
        target: { site_ids: [site] },
      }),
    );
    expect(job.counts).toMatchObject({ total: 2, pending: 1, unsupported: 1 });
    const [unsupported] = await targetsOf(job, 'unsupported');
    expect(unsupported).toMatchObject({
      device_id: edge.deviceId,
      command_id: null,
      attempts: 0,
      unsupported_reason: 'Devices of type edge have no command restart_process.',
    });
    expect(ok(await pollAgentCommands({ client: edge.client })).data).toEqual([]);
    await answer(workstation, 'succeeded');
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } })).state).toBe('partially_failed');
  });

  it('finishes at once (200) when no target can run it', async () => {
    const site = (await addSite(t)).id;
    await addAgentOfType(site, 'edge');
    const created = await start({ command: { type: 'reboot' }, target: { site_ids: [site] } });
    expect(created.response.status).toBe(200);
    expect(ok(created)).toMatchObject({ state: 'failed', counts: { total: 1, unsupported: 1 } });
  });

  it('lets an operator target only devices and sites of their sites, and hides jobs beyond them', async () => {
    const own = await start({ target: { site_ids: [siteA] } }, operatorA.client);
    expect(own.response.status).toBe(202);
    expect(ok(own).created_by).toBe(operatorA.user.id);
    expectProblem(
      await start({ target: { device_ids: [agents[0]!.deviceId, agentB.deviceId] } }, operatorA.client),
      422,
      'unknown_device',
    );
    expectProblem(
      await start({ target: { site_ids: [siteA, siteB] } }, operatorA.client),
      422,
      'unknown_site',
    );

    const wide = ok(await start({ target: { device_ids: [agents[0]!.deviceId, agentB.deviceId] } }));
    expectProblem(await getJob({ client: operatorA.client, path: { job_id: wide.id } }), 404, 'not_found');
    expectProblem(
      await listJobTargets({ client: operatorA.client, path: { job_id: wide.id } }),
      404,
      'not_found',
    );
    expectProblem(await cancelJob({ client: operatorA.client, path: { job_id: wide.id } }), 404, 'not_found');
    expectProblem(await retryJob({ client: operatorA.client, path: { job_id: wide.id } }), 404, 'not_found');
    const listed = ok(await listJobs({ client: operatorA.client, query: { limit: 500 } })).data.map(
      (j) => j.id,
    );
    expect(listed).toContain(ok(own).id);
    expect(listed).not.toContain(wide.id);
    ok(await cancelJob({ client: t.admin, path: { job_id: wide.id } }));
    ok(await cancelJob({ client: operatorA.client, path: { job_id: ok(own).id } }));
    // A job over two sites raises its events for the whole fleet: admins see them, the operator does not.
    const eventsOf = async (client: typeof t.admin) =>
      ok(await listEvents({ client, query: { limit: 500 } }))
        .data.filter((event) => (event.data as { job_id?: string }).job_id === wide.id)
        .map((event) => [event.type, event.site_id]);
    expect(await eventsOf(t.admin)).toEqual([
      ['job.started', null],
      ['job.finished', null],
    ]);
    expect(await eventsOf(operatorA.client)).toEqual([]);
  });
});

describe('filter targets', () => {
  it('runs on the devices a filter written in the job matches, among those the caller can see', async () => {
    const site = (await addSite(t)).id;
    const kiosk = await addAgent(t, site);
    await addAgentOfType(site, 'relay');
    const filter: DeviceFilterExpression = {
      and: [
        { field: 'site_id', op: 'eq', value: site },
        { field: 'device_type', op: 'eq', value: 'workstation' },
      ],
    };
    const job = ok(await start({ target: { filter } }));
    expect(job).toMatchObject({ target: { filter }, counts: { total: 1, pending: 1 } });
    expect((await targetsOf(job)).map((target) => target.device_id)).toEqual([kiosk.deviceId]);
    // An operator of site A only: the same filter matches none of their devices.
    const theirs = ok(await start({ target: { filter } }, operatorA.client));
    expect(theirs.counts.total).toBe(0);
    ok(await cancelJob({ client: t.admin, path: { job_id: job.id } }));
    const bad = expectProblem(
      await start({ target: { filter: { field: 'colour', op: 'eq', value: 'red' } as never } }),
      400,
      'invalid_filter',
    );
    expect(bad.errors?.[0]?.path).toMatch(/^\/body\/target\/filter/);
  });

  it('runs on a saved filter, which then lists the job among its users; archived filters are refused', async () => {
    const site = (await addSite(t)).id;
    const device = await addAgent(t, site);
    const saved = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: `Site ${site}`, expression: { field: 'site_id', op: 'eq', value: site } },
      }),
    );
    const job = ok(await start({ name: 'By saved filter', target: { filter_id: saved.id } }));
    expect((await targetsOf(job)).map((target) => target.device_id)).toEqual([device.deviceId]);
    expect(ok(await getDeviceFilterUsage({ client: t.admin, path: { filter_id: saved.id } })).data).toEqual([
      { kind: 'job', id: job.id, name: 'By saved filter' },
    ]);
    ok(await cancelJob({ client: t.admin, path: { job_id: job.id } }));
    ok(await archiveDeviceFilter({ client: t.admin, path: { filter_id: saved.id } }));
    expectProblem(await start({ target: { filter_id: saved.id } }), 422, 'device_filter_archived');
    expectProblem(
      await start({ target: { filter_id: 'flt_01JD9A2B4C6E8G0J2K4M6P8R0T' } }),
      422,
      'unknown_device_filter',
    );
  });
});

describe('script jobs', () => {
  const diskScript = async (platforms: ('linux' | 'windows')[] = ['linux']) =>
    ok(
      await createScript({
        client: t.admin,
        body: {
          name: `Disk usage ${Math.random()}`,
          language: 'sh',
          platforms,
          body: 'df -h "$MERIDIAN_PARAM_MOUNT"\n',
          parameters: {
            type: 'object',
            required: ['MOUNT'],
            properties: { MOUNT: { type: 'string', maxLength: 100 } },
          },
          timeout_seconds: 120,
        },
      }),
    );

  it('runs a saved script as run_script commands with its version and arguments', async () => {
    const script = await diskScript();
    const job = ok(
      await start({
        command: undefined,
        script: { script_id: script.id, arguments: { MOUNT: '/var' } },
        target: { device_ids: [agents[0]!.deviceId] },
      }),
    );
    expect(job).toMatchObject({
      kind: 'script',
      command_type: 'run_script',
      script_id: script.id,
      script_version: 1,
      timeout_seconds: 120,
      params: { language: 'sh', parameters: { MOUNT: '/var' }, timeout_seconds: 120, script_version: 1 },
    });
    const [command] = ok(await pollAgentCommands({ client: agents[0]!.client })).data;
    expect(command).toMatchObject({
      type: 'run_script',
      params: { body: 'df -h "$MERIDIAN_PARAM_MOUNT"\n' },
    });
    expect(
      ok(await listJobs({ client: t.admin, query: { script_id: script.id } })).data.map((j) => j.id),
    ).toEqual([job.id]);
    ok(await cancelJob({ client: t.admin, path: { job_id: job.id } }));
  });

  it("marks devices of other platforms unsupported, and refuses arguments that do not fit the script's schema", async () => {
    const script = await diskScript(['windows']);
    const job = ok(
      await start({
        command: undefined,
        script: { script_id: script.id, version: 1, arguments: { MOUNT: 'C:' } },
        target: { device_ids: [agents[0]!.deviceId] },
      }),
    );
    expect(job).toMatchObject({ state: 'failed', counts: { unsupported: 1 } });
    expect((await targetsOf(job))[0]!.unsupported_reason).toMatch(/is for windows, not linux/);
    const wrong = expectProblem(
      await start({ command: undefined, script: { script_id: script.id, arguments: { MOUNT: 5 } } }),
      422,
      'invalid_script_arguments',
    );
    expect(wrong.errors).toEqual([{ path: '/body/script/arguments/MOUNT', message: 'must be string' }]);
    expectProblem(
      await start({ command: undefined, script: { script_id: script.id, arguments: {} } }),
      422,
      'invalid_script_arguments',
    );
    expectProblem(
      await start({ command: undefined, script: { script_id: script.id, version: 9 } }),
      422,
      'unknown_script',
    );
    expectProblem(
      await start({ command: undefined, script: { script_id: 'spt_01JD9C4E6G8J0K2M4P6R8T0V2X' } }),
      422,
      'unknown_script',
    );
  });

  it('runs an inline script for a quick run', async () => {
    const job = ok(
      await start({
        command: undefined,
        inline_script: { language: 'bash', body: 'echo "$MERIDIAN_PARAM_WHO"', arguments: { WHO: 'fleet' } },
        target: { device_ids: [agents[0]!.deviceId] },
      }),
    );
    expect(job).toMatchObject({ kind: 'inline_script', command_type: 'run_script', script_id: null });
    await answer(agents[0]!, 'succeeded', 'fleet\n');
    expect((await targetsOf(job))[0]).toMatchObject({ state: 'succeeded', stdout: 'fleet\n' });
    const both = expectProblem(
      await start({ inline_script: { language: 'sh', body: 'true' } }),
      400,
      'validation_failed',
    );
    expect(both.errors).toEqual([
      { path: '/body', message: 'Say what to run with exactly one of command, script and inline_script.' },
    ]);
  });
});

describe('waiting', () => {
  it('answers 200 once every target has finished, woken by the results', async () => {
    const waiting = start(
      { target: { device_ids: [agents[0]!.deviceId, agents[1]!.deviceId] } },
      t.admin,
      30,
    );
    await t.clock.waitingOn('job-wait');
    await answer(agents[0]!, 'succeeded');
    await answer(agents[1]!, 'succeeded');
    const answered = await waiting;
    expect(answered.response.status).toBe(200);
    expect(ok(answered)).toMatchObject({ state: 'succeeded', counts: { succeeded: 2 } });
  });

  it('answers 202 with the running job when the time runs out', async () => {
    const waiting = start({ target: { device_ids: [agents[0]!.deviceId] } }, t.admin, 5);
    await t.clock.waitingOn('job-wait');
    await t.clock.advance(5_000);
    const answered = await waiting;
    expect(answered.response.status).toBe(202);
    expect(ok(answered)).toMatchObject({ state: 'running', counts: { pending: 1 } });
    await answer(agents[0]!, 'succeeded');
  });
});

describe('finishing in the background', () => {
  it('records the end and raises job.finished when the last command expires, with nobody reading the job', async () => {
    const job = ok(await start({ target: { device_ids: [agents[2]!.deviceId] }, timeout_seconds: 30 }));
    await t.clock.advance(31_000); // the sweep expires the command, which wakes the jobs' pass
    await vi.waitFor(async () => {
      const finished = ok(
        await listEvents({ client: t.admin, query: { type: 'job.finished', limit: 500 } }),
      ).data;
      expect(finished.map((event) => (event.data as { job_id: string }).job_id)).toContain(job.id);
    });
    const [listed] = ok(
      await listJobs({ client: t.admin, query: { state: 'failed', since: job.created_at } }),
    ).data;
    expect(listed).toMatchObject({ id: job.id, counts: { expired: 1 } });
  });
});

describe('cancel', () => {
  it('cancels the commands no agent has picked up and ends cancelled once the rest finish', async () => {
    const job = ok(await start());
    const [delivered] = ok(await pollAgentCommands({ client: agents[0]!.client })).data;
    const cancelled = ok(await cancelJob({ client: t.admin, path: { job_id: job.id } }));
    expect(cancelled).toMatchObject({ state: 'running', counts: { delivered: 1, cancelled: 2 } });
    expect(cancelled.cancelled_at).not.toBeNull();
    expect(ok(await pollAgentCommands({ client: agents[1]!.client })).data).toEqual([]);
    ok(
      await reportAgentCommandResult({
        client: agents[0]!.client,
        path: { command_id: delivered!.id },
        body: { status: 'succeeded', exit_code: 0, duration_ms: 5 },
      }),
    );
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } }))).toMatchObject({
      state: 'cancelled',
      counts: { succeeded: 1, cancelled: 2 },
    });
    expectProblem(await cancelJob({ client: t.admin, path: { job_id: job.id } }), 409, 'job_finished');
  });
});

describe('retry', () => {
  it('reruns the failed and expired targets only, as attempt 2', async () => {
    const job = ok(await start());
    await answer(agents[0]!, 'succeeded');
    await answer(agents[1]!, 'failed');
    expectProblem(await retryJob({ client: t.admin, path: { job_id: job.id } }), 409, 'job_running');
    await t.clock.advance(61_000); // echo's 60 s timeout: the third target expires
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } }))).toMatchObject({
      state: 'partially_failed',
      counts: { succeeded: 1, failed: 1, expired: 1 },
    });

    const retried = await retryJob({ client: t.admin, path: { job_id: job.id } });
    expect(retried.response.status).toBe(202);
    expect(ok(retried)).toMatchObject({
      state: 'running',
      attempt: 2,
      finished_at: null,
      counts: { succeeded: 1, pending: 2, failed: 0, expired: 0 },
    });
    expect(ok(await pollAgentCommands({ client: agents[0]!.client })).data).toEqual([]);
    await answer(agents[1]!, 'succeeded');
    await answer(agents[2]!, 'succeeded');
    const targets = await targetsOf(job);
    expect(targets.map((target) => [target.device_id, target.attempts])).toEqual(
      agents.map((a) => [a.deviceId, a === agents[0] ? 1 : 2]).sort(),
    );
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } }))).toMatchObject({
      state: 'succeeded',
      attempt: 2,
    });
    expectProblem(await retryJob({ client: t.admin, path: { job_id: job.id } }), 409, 'no_failed_targets');
  });
});

describe('the list', () => {
  it('filters by state, creator and time, a page at a time', async () => {
    const since = t.clock.now().toISOString();
    await t.clock.advance(1_000);
    const mine = ok(await start({ target: { site_ids: [siteA] } }, operatorA.client));
    const admins = ok(await start());
    const listed = async (query: ListJobsData['query']) =>
      ok(await listJobs({ client: t.admin, query: { limit: 500, ...query } })).data.map((j) => j.id);
    expect(await listed({ since })).toEqual([mine.id, admins.id]);
    expect(await listed({ since, created_by: operatorA.user.id })).toEqual([mine.id]);
    expect(await listed({ state: 'running' })).toEqual(expect.arrayContaining([mine.id, admins.id]));
    expect(await listed({ state: 'succeeded' })).not.toContain(mine.id);
    const page = ok(await listJobs({ client: t.admin, query: { limit: 1, since } }));
    expect(page.data.map((j) => j.id)).toEqual([mine.id]);
    const next = ok(
      await listJobs({ client: t.admin, query: { limit: 1, since, cursor: page.next_cursor! } }),
    );
    expect(next.data.map((j) => j.id)).toEqual([admins.id]);
    for (const job of [mine, admins]) ok(await cancelJob({ client: t.admin, path: { job_id: job.id } }));
  });
});

describe('bad input', () => {
  it('refuses unknown command types, params that do not fit, unknown devices and ambiguous targets', async () => {
    expectProblem(await start({ command: { type: 'teleport' } }), 422, 'unknown_command_type');
    const params = expectProblem(
      await start({ command: { type: 'echo', params: { text: 5 } } }),
      422,
      'invalid_command_params',
    );
    expect(params.errors).toEqual([{ path: '/body/command/params/text', message: 'must be string' }]);
    expectProblem(
      await start({ target: { device_ids: ['dev_01JD2M7T4X9K3QH5W8N6R2B4CZ'] } }),
      422,
      'unknown_device',
    );
    expectProblem(
      await start({ target: { site_ids: ['site_01JC0A1B2C3D4E5F6G7H8J9K0M'] } }),
      422,
      'unknown_site',
    );
    const both = expectProblem(
      await start({ target: { device_ids: [agents[0]!.deviceId], site_ids: [siteA] } }),
      400,
      'validation_failed',
    );
    expect(both.errors).toEqual([
      { path: '/body/target', message: 'Give exactly one of device_ids, site_ids, filter_id and filter.' },
    ]);
    expectProblem(
      await createJob({ client: t.admin, body: { target: { site_ids: [siteA] } } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await getJob({ client: t.admin, path: { job_id: 'job_01JD9A2B4C6E8G0J2K4M6P8R0T' } }),
      404,
      'not_found',
    );
  });
});
