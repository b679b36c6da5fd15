/**
 * The reference agent's `run_script` command, run as a user runs the agent (a separate process)
 * against a fresh in-memory server: a bash script of the library runs for real with its
 * parameters as MERIDIAN_PARAM_* variables and its exit code and output come back; a script
 * that outlives its timeout is killed with its children; an agent started without
 * --allow-shell refuses to run scripts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Meridian, type Script } from '@meridian/sdk';
import { checkedFetch } from '../test/support/checked-fetch';
import {
  type ReferenceAgent,
  startReferenceAgent,
  stopReferenceAgent,
} from '../test/support/reference-agent';
import { useTestServer } from '../test/support/use-test-server';

const t = useTestServer();
let operator: Meridian;
let scratch: string;
let running: ReferenceAgent | undefined;

/**
 * Starts the reference agent of this machine (enrolled on a new site the first time; a restart
 * resumes with its saved credentials); resolves with its device once it waits for commands.
 */
async function startAgent(flags: string[]): Promise<string> {
  running = await startReferenceAgent({
    url: t.url,
    state: join(scratch, 'credentials.json'),
    flags,
    enrollmentCode: async () =>
      (
        await operator.enrollmentCodes.create((await operator.sites.create({ name: 'Scripts' })).id, {
          auto_approve: true,
          max_uses: 1,
        })
      ).code,
  });
  return running.deviceId;
}

/** Stops the running agent and waits for it to exit. */
const stopAgent = () => stopReferenceAgent(running);

/** Runs one version of a library script on the device as a `run_script` command and waits for it. */
const runScript = (deviceId: string, script: Script, parameters: Record<string, string | number>) =>
  operator.commands.create(
    {
      device_id: deviceId,
      type: 'run_script',
      params: {
        script_id: script.id,
        script_version: script.version,
        language: script.language,
        body: script.body,
        parameters,
        timeout_seconds: script.timeout_seconds,
        run_as: script.run_as,
      },
    },
    { wait_seconds: 20 },
  );

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  scratch = mkdtempSync(join(tmpdir(), 'meridian-scripts-'));
});
afterAll(async () => {
  await stopAgent();
  rmSync(scratch, { recursive: true, force: true });
});

describe('run_script on the reference agent', () => {
  let shellDevice: string;
  beforeAll(async () => {
    shellDevice = await startAgent(['--allow-shell']);
  });
  afterAll(stopAgent);

  it('runs a bash script with its parameters as MERIDIAN_PARAM_* and reports its exit code and output', async () => {
    const script = await operator.scripts.create({
      name: 'Report and fail',
      language: 'bash',
      body: 'echo "mount=$MERIDIAN_PARAM_MOUNT count=$MERIDIAN_PARAM_COUNT shell=$(test -n "$BASH_VERSION" && echo bash)"\necho "to stderr" >&2\nexit 3\n',
      parameters: {
        type: 'object',
        properties: { mount: { type: 'string', maxLength: 100 }, count: { type: 'integer' } },
      },
      timeout_seconds: 30,
    });
    const failed = await runScript(shellDevice, script, { mount: '/var/data', count: 2 });
    expect(failed.status).toBe('failed');
    expect(failed.result).toMatchObject({
      exit_code: 3,
      stdout: 'mount=/var/data count=2 shell=bash\n',
      stderr: 'to stderr\n',
    });
    const fixed = await operator.scripts.update(script.id, { body: 'echo "fixed: $MERIDIAN_PARAM_MOUNT"\n' });
    const succeeded = await runScript(shellDevice, fixed, { mount: '/srv' });
    expect(succeeded.status).toBe('succeeded');
    expect(succeeded.result).toMatchObject({ exit_code: 0, stdout: 'fixed: /srv\n', stderr: '' });
    expect(succeeded.params).toMatchObject({ script_id: script.id, script_version: 2 });
  });

  it('kills a script that outlives its timeout, with the processes it started', async () => {
    const script = await operator.scripts.create({
      name: 'Hangs',
      language: 'sh',
      // The background sleep keeps the output open: only killing the whole group ends the run.
      body: 'echo started\nsleep 60 &\nwait\necho never\n',
      timeout_seconds: 5,
    });
    const started = Date.now();
    const killed = await runScript(shellDevice, script, {});
    expect(killed.status).toBe('failed');
    expect(killed.result).toMatchObject({
      stdout: 'started\n',
      error: 'The script ran longer than its timeout of 5 s and was killed.',
      exit_code: null,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses languages it cannot run with a failed result', async () => {
    const script = await operator.scripts.create({
      name: 'Windows only',
      language: 'powershell',
      body: 'Get-Date\n',
    });
    const refused = await runScript(shellDevice, script, {});
    expect(refused.status).toBe('failed');
    expect(refused.result?.error).toBe('The reference agent runs sh and bash scripts only, not powershell.');
  });
});

describe('run_script on the same agent restarted without --allow-shell', () => {
  it('refuses to run the script, saying how to allow it', async () => {
    const device = await startAgent([]);
    const marker = join(scratch, 'ran');
    const script = await operator.scripts.create({
      name: 'Leaves a mark',
      language: 'sh',
      body: 'touch "$MERIDIAN_PARAM_MARKER"\n',
    });
    const refused = await runScript(device, script, { marker });
    expect(refused.status).toBe('failed');
    expect(refused.result).toMatchObject({
      exit_code: null,
      stdout: '',
      error:
        'This agent does not run scripts: start it with --allow-shell to let it run sh and bash scripts.',
    });
    expect(existsSync(marker)).toBe(false);
  });
});
