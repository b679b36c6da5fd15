/**
 * Getting the agent onto a machine: GET /v1/agent/downloads/{platform} (an enrolment code or a
 * device's credentials), and the install scripts rendered for this server and a code
 * (install.sh, install.ps1) that the enrolment code's install commands run. The shell script
 * passes shellcheck and is run for real under `sh`: it downloads the build from this server,
 * checks its SHA-256, installs it into a temporary directory and runs `meridian-agent enroll`,
 * which asks this server to enrol; a build tampered with in the blob store is not installed.
 * Programs run as child processes the test awaits (never spawnSync: the server runs in this process).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEnrollmentCode,
  downloadAgent,
  getAgentInstallPowerShellScript,
  getAgentInstallScript,
  listEnrollmentRequests,
  revokeEnrollmentCode,
  updateDevice,
  updateSite,
} from '@meridian/sdk';
import { addAgent, addCode, newFingerprint } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { addRelease, linkBuild, uploadBuild } from './support/releases';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

const blobDir = mkdtempSync(join(tmpdir(), 'meridian-download-blobs-'));
const t = useTestServer({ blobDir });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const HOSTNAME = unique('installed-host');
const FINGERPRINT = newFingerprint();
/**
 * A stand-in for the agent build: a shell script that, called as `enroll --server S --code C`,
 * records its arguments next to itself and asks S to enrol this machine with C, as the agent does.
 */
const FAKE_AGENT = Buffer.from(`#!/bin/sh
[ "$1" = enroll ] && [ "$2" = --server ] && [ "$4" = --code ] || exit 64
printf '%s\\n' "$@" > "$(dirname "$0")/enroll-arguments"
exec curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' "$3/v1/agent/enroll" \\
  -d '{"code":"'"$5"'","fingerprint":"${FINGERPRINT}","facts":{"hostname":"${HOSTNAME}","platform":"linux","agent_version":"1.0.0"}}'
`);

let siteId: string;
let code: string;
let dir: string;

beforeAll(async () => {
  siteId = (await addSite(t)).id;
  code = await addCode(t, siteId);
  const release = await addRelease(t);
  for (const platform of ['linux-amd64', 'linux-arm64', 'macos-arm64'] as const)
    ok(await uploadBuild(t.admin, release.id, FAKE_AGENT, { platform }));
  ok(await linkBuild(t.admin, release.id, "https://downloads.example.com/it's/meridian-agent.exe", 'ab'));
  dir = await mkdtemp(join(tmpdir(), 'meridian-install-'));
});
afterAll(() =>
  Promise.all([rm(dir, { recursive: true, force: true }), rm(blobDir, { recursive: true, force: true })]),
);

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end without blocking this process (the server answers it meanwhile). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** Runs a rendered install script under `sh` as `curl … | sudo sh` would, installing into `installDir`. */
async function runScript(script: string, installDir: string): Promise<Run> {
  const file = join(dir, `${unique('install')}.sh`);
  await writeFile(file, script);
  return run('sh', [file], { PATH: process.env.PATH, MERIDIAN_INSTALL_DIR: installDir });
}

describe('install.sh', () => {
  it("is what the enrolment code's install command fetches, passes shellcheck, and installs and enrols for real", async () => {
    const created = ok(await createEnrollmentCode({ client: t.admin, path: { site_id: siteId }, body: {} }));
    const command = created.install_commands.find((install) => install.platform === 'linux')!.command;
    expect(command).toBe(`curl -fsSL '${t.url}/v1/agent/install.sh?code=${created.code}' | sudo sh`);

    const result = await getAgentInstallScript({ client: t.client(), query: { code: created.code } });
    expect(result.response.headers.get('content-type')).toMatch(/^text\/x-shellscript/);
    const script = result.data as string;
    expect(script).toContain(`MERIDIAN_CODE='${created.code}'`);
    expect(script).toContain(`MERIDIAN_SERVER='${t.url}'`);
    expect(script).toContain(`sha256='${sha256(FAKE_AGENT)}'`);

    const scriptFile = join(dir, 'install.sh');
    await writeFile(scriptFile, script);
    const lint = await run('shellcheck', ['--shell=sh', '--severity=style', scriptFile]);
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);

    const installDir = join(dir, 'bin');
    const installed = await runScript(script, installDir);
    expect(installed.stderr).toBe('');
    expect(installed.stdout).toContain(`installed ${installDir}/meridian-agent (${sha256(FAKE_AGENT)})`);
    expect(installed.status).toBe(0);
    const agent = join(installDir, 'meridian-agent');
    expect(await readFile(agent)).toEqual(FAKE_AGENT);
    expect((await stat(agent)).mode & 0o111).not.toBe(0);
    const args = (await readFile(join(installDir, 'enroll-arguments'), 'utf8')).trim().split('\n');
    expect(args).toEqual(['enroll', '--server', t.url, '--code', created.code]);

    // The installed agent asked to enrol with the code: its request waits in the approval queue.
    const pending = ok(await listEnrollmentRequests({ client: t.admin, query: { status: 'pending' } })).data;
    expect(pending.find((request) => request.fingerprint === FINGERPRINT)).toMatchObject({
      site_id: siteId,
      code_id: created.enrollment_code.id,
      facts: { hostname: HOSTNAME },
    });
  });

  it('stops at a download whose SHA-256 is not the one it was rendered with, and installs nothing', async () => {
    const release = await addRelease(t, 'tampered');
    const build = Buffer.concat([FAKE_AGENT, Buffer.from('# the tampered channel\n')]);
    ok(await uploadBuild(t.admin, release.id, build, { platform: 'linux-amd64' }));
    ok(await uploadBuild(t.admin, release.id, build, { platform: 'linux-arm64' }));
    const script = ok(
      await getAgentInstallScript({ client: t.client(), query: { code, channel: 'tampered' } }),
    );
    expect(script).toContain(`/v1/agent/downloads/linux-amd64?code=${code}&channel=tampered`);
    // Someone changes the stored file (same length, one byte different) after the script was rendered.
    const hash = sha256(build);
    const stored = join(blobDir, 'sha256', hash.slice(0, 2), hash);
    const tampered = Buffer.from(build);
    tampered[tampered.length - 2] = 'X'.charCodeAt(0);
    await writeFile(stored, tampered);

    const installDir = join(dir, 'tampered');
    const refused = await runScript(script as string, installDir);
    expect(refused.stderr).toContain(`the download's SHA-256 is ${sha256(tampered)}, not ${hash}`);
    expect(refused.status).toBe(1);
    await expect(stat(join(installDir, 'meridian-agent'))).rejects.toThrow('ENOENT');
  });
});

describe.each([
  ['install.sh', getAgentInstallScript],
  ['install.ps1', getAgentInstallPowerShellScript],
] as const)('%s', (_name, getScript) => {
  it('needs a code that works, and a channel with builds', async () => {
    const unknown = await getScript({ client: t.client(), query: { code: 'mec_not-a-code' } });
    expectProblem(unknown, 401, 'enrollment_code_refused');
    const nightly = await getScript({ client: t.client(), query: { code, channel: 'nightly' } });
    expectProblem(nightly, 404, 'no_agent_release');
  });
});

describe('install.ps1', () => {
  it('is rendered with the Windows builds, their SHA-256 and the code, quoted for PowerShell', async () => {
    const created = ok(await createEnrollmentCode({ client: t.admin, path: { site_id: siteId }, body: {} }));
    const command = created.install_commands.find((install) => install.platform === 'windows')!.command;
    expect(command).toBe(`iwr -useb '${t.url}/v1/agent/install.ps1?code=${created.code}' | iex`);

    const result = await getAgentInstallPowerShellScript({ client: t.client(), query: { code } });
    expect(result.response.headers.get('content-type')).toMatch(/^text\/plain/);
    const script = result.data as string;
    expect(script).toContain(
      `'windows-amd64' = @{ Url = 'https://downloads.example.com/it''s/meridian-agent.exe'; Sha256 = '${'ab'.repeat(32)}' }`,
    );
    expect(script).toContain(`$server = '${t.url}'`);
    expect(script).toContain(`$code = '${code}'`);
    expect(script).toContain('& $agent enroll --server $server --code $code');
    expect(script).not.toContain('linux');
  });
});

describe('GET /v1/agent/downloads/{platform}', () => {
  const download = (
    query: { code?: string; channel?: string },
    headers: Record<string, string> = {},
    token?: string,
  ) =>
    downloadAgent({
      client: t.client(token),
      path: { platform: 'linux-amd64' },
      query,
      headers,
      parseAs: 'arrayBuffer',
    });

  it('streams the newest build with an enrolment code or a device access token, in ranges and by ETag', async () => {
    const whole = await download({ code });
    expect(whole.response.status).toBe(200);
    expect(Buffer.from(whole.data as unknown as ArrayBuffer)).toEqual(FAKE_AGENT);
    const etag = whole.response.headers.get('etag')!;
    expect(etag).toBe(`"sha256-${sha256(FAKE_AGENT)}"`);

    const agent = await addAgent(t, siteId);
    const byAgent = await download({}, {}, agent.credentials.access_token);
    expect(Buffer.from(byAgent.data as unknown as ArrayBuffer)).toEqual(FAKE_AGENT);

    const part = await download({ code }, { Range: 'bytes=0-8' });
    expect(part.response.status).toBe(206);
    expect(Buffer.from(part.data as unknown as ArrayBuffer).toString()).toBe('#!/bin/sh');
    expectProblem(await download({ code }, { Range: 'bytes=100000-' }), 416, 'range_not_satisfiable');
    expect((await download({ code }, { 'If-None-Match': etag })).response.status).toBe(304);
  });

  it('sends a build kept elsewhere to its URL', async () => {
    const response = await fetch(`${t.url}/v1/agent/downloads/windows-amd64?code=${code}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe("https://downloads.example.com/it's/meridian-agent.exe");
  });

  it("takes the channel the machine follows: its code's site's, a device's own, else its site's", async () => {
    const site = await addSite(t);
    ok(await updateSite({ client: t.admin, path: { site_id: site.id }, body: { channel: 'beta' } }));
    const beta = Buffer.concat([FAKE_AGENT, Buffer.from('# the beta channel\n')]);
    ok(await uploadBuild(t.admin, (await addRelease(t, 'beta')).id, beta, { platform: 'linux-amd64' }));
    const betaCode = await addCode(t, site.id);
    const bytes = async (result: Promise<{ data?: unknown }>) =>
      Buffer.from((await result).data as ArrayBuffer);

    const script = ok(await getAgentInstallScript({ client: t.client(), query: { code: betaCode } }));
    expect(script).toContain(`sha256='${sha256(beta)}'`);
    expect(script).toContain(`/v1/agent/downloads/linux-amd64?code=${betaCode}&channel=beta'`);
    expect(await bytes(download({ code: betaCode }))).toEqual(beta);
    expect(await bytes(download({ code: betaCode, channel: 'stable' }))).toEqual(FAKE_AGENT);

    const agent = await addAgent(t, site.id);
    const token = agent.credentials.access_token;
    expect(await bytes(download({}, {}, token))).toEqual(beta);
    ok(
      await updateDevice({
        client: t.admin,
        path: { device_id: agent.deviceId },
        body: { channel: 'stable' },
      }),
    );
    expect(await bytes(download({}, {}, token))).toEqual(FAKE_AGENT);
  });

  it("refuses a missing, unknown or revoked code, an operator's token, and a platform without builds", async () => {
    expectProblem(await download({}), 401, 'unauthenticated');
    expectProblem(await download({ code: 'mec_not-a-code' }), 401, 'enrollment_code_refused');
    const revoked = ok(await createEnrollmentCode({ client: t.admin, path: { site_id: siteId }, body: {} }));
    ok(
      await revokeEnrollmentCode({
        client: t.admin,
        path: { site_id: siteId, code_id: revoked.enrollment_code.id },
      }),
    );
    expectProblem(await download({ code: revoked.code }), 401, 'enrollment_code_refused');
    expectProblem(await download({ code }, {}, t.adminToken), 401, 'agent_credentials_required');
    expectProblem(await download({ code, channel: 'nightly' }), 404, 'no_agent_release');
  });
});

describe('behind a proxy (MERIDIAN_PUBLIC_URL)', () => {
  const behind = useTestServer({ publicUrl: 'https://meridian.example.com/fleet' });

  it("renders the scripts for the public URL, not the request's host", async () => {
    const release = await addRelease(behind);
    ok(await uploadBuild(behind.admin, release.id, FAKE_AGENT, { platform: 'linux-amd64' }));
    ok(await linkBuild(behind.admin, release.id, 'https://downloads.example.com/meridian-agent.exe', 'ab'));
    const code = await addCode(behind, (await addSite(behind)).id);
    const sh = ok(await getAgentInstallScript({ client: behind.client(), query: { code } }));
    expect(sh).toContain("MERIDIAN_SERVER='https://meridian.example.com/fleet'");
    expect(sh).toContain(
      `url='https://meridian.example.com/fleet/v1/agent/downloads/linux-amd64?code=${code}&channel=stable'`,
    );
    const ps1 = ok(await getAgentInstallPowerShellScript({ client: behind.client(), query: { code } }));
    expect(ps1).toContain("$server = 'https://meridian.example.com/fleet'");
    expect(`${sh}${ps1}`).not.toContain(behind.url);
  });
});
