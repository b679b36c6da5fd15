/**
 * The reference agent: enrols this machine with a code, keeps its credentials in a state file
 * (so a restart resumes instead of enrolling again), heartbeats and runs commands until stopped.
 * With --run-processes it also runs the device's monitored processes (processes.ts) and reports
 * their state in each heartbeat; without it, it runs none and reports none. The software it installs
 * (install_software, only with --allow-shell) is recorded in software.json beside the state file.
 *
 *   MERIDIAN_URL=http://localhost:8080 MERIDIAN_ENROLL_CODE=mec_… npx tsx examples/agent/agent.ts
 *   options: --state <file> (default ./data/agent-credentials.json)  --allow-shell  --run-processes
 *            --for <seconds>  --install-dir <dir> (where it installs its updates: self-update.ts)
 *            --server <url> (default MERIDIAN_URL, else the server it enrolled with, else localhost:8080)
 *
 *   npx tsx examples/agent/agent.ts enroll --server https://meridian.example.com --code mec_… [--state <file>]
 *
 * `enroll` (what the install scripts run) only enrols: it saves the credentials and the server's URL
 * in the state file and exits 0, and the agent started later with that state resumes with them.
 * The agent's access token goes with downloads from the server it is enrolled with (an installer
 * uploaded to Meridian) and never to another host (uninstall-software.ts authorizeOn).
 *
 * With --install-dir it follows the rollouts of agent releases (self-update.ts); without, it reports
 * the updates it is asked for as failed. Its version is MERIDIAN_AGENT_VERSION when set (a build's
 * launcher sets it), else machine.ts's.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { MeridianAgent, type AgentCredentials, type AgentUpdate } from '@meridian/sdk';
import { handlers } from './handlers';
import { AGENT_VERSION, facts, fingerprint, heartbeat, inventory } from './machine';
import { ProcessSupervisor } from './processes';
import { SelfUpdater } from './self-update';
import { SoftwareRegistry } from './software';
import { authorizeOn } from './uninstall-software';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    server: { type: 'string' },
    code: { type: 'string' },
    state: { type: 'string', default: './data/agent-credentials.json' },
    'allow-shell': { type: 'boolean', default: false },
    'run-processes': { type: 'boolean', default: false },
    for: { type: 'string' },
    'install-dir': { type: 'string' },
  },
});
const [subcommand] = positionals;
if (positionals.length > (subcommand === 'enroll' ? 1 : 0)) {
  console.error(
    `Unknown arguments: ${positionals.join(' ')}. The one subcommand is: enroll --server <url> --code <code>`,
  );
  process.exit(2);
}
const enrolling = subcommand === 'enroll';
if (enrolling && (!values.server || !values.code)) {
  console.error('Usage: agent.ts enroll --server <url> --code <code> [--state <file>]');
  process.exit(2);
}
const version = process.env.MERIDIAN_AGENT_VERSION ?? AGENT_VERSION;
const statePath = values.state!;
/** The state file: the agent's credentials and the URL of the server they are for. */
type SavedState = AgentCredentials & { server?: string };
const saved =
  !enrolling && existsSync(statePath)
    ? (JSON.parse(readFileSync(statePath, 'utf8')) as SavedState)
    : undefined;
const server = values.server ?? process.env.MERIDIAN_URL ?? saved?.server ?? 'http://localhost:8080';

const agent = new MeridianAgent({
  baseUrl: server,
  ...(saved ? { credentials: saved } : {}),
  onCredentials: (credentials) => {
    mkdirSync(dirname(statePath), { recursive: true });
    writeFileSync(statePath, JSON.stringify({ ...credentials, server }, null, 2), { mode: 0o600 });
  },
});

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
if (values.for) setTimeout(() => stop.abort(), Number(values.for) * 1000).unref();

if (!saved) {
  const code = values.code ?? process.env.MERIDIAN_ENROLL_CODE;
  if (!code) {
    console.error(
      'Not enrolled yet: set MERIDIAN_ENROLL_CODE to an enrolment code (mec_…) from an operator.',
    );
    process.exit(2);
  }
  console.log(`enrolling ${facts().hostname} …`);
  await agent.enroll(
    { code, fingerprint: fingerprint(), facts: { ...facts(), agent_version: version } },
    { signal: stop.signal },
  );
  if (enrolling) {
    console.log(`enrolled as device ${agent.deviceId} with ${server}; credentials in ${statePath}`);
    process.exit(0);
  }
}
const software = new SoftwareRegistry(join(dirname(statePath), 'software.json'));
const reportInventory = () => agent.uploadInventory(inventory(software.list()));
await reportInventory();
const installDir = values['install-dir'];
const updater = installDir ? new SelfUpdater({ installDir, agent, version }) : undefined;
await updater?.finishPendingUpdate();
console.log(`device ${agent.deviceId}: online; waiting for commands (Ctrl-C to stop)`);

let restart = false;
/** A rollout asks for another version: install it and restart into it (or report why not). */
async function followUpdate(update: AgentUpdate): Promise<void> {
  if (restart) return;
  if (!updater) {
    await agent.reportUpdate({
      rollout_id: update.rollout_id,
      outcome: 'failed',
      version,
      error: 'This agent was started without --install-dir: it does not update itself.',
    });
    return;
  }
  console.log(`updating ${version} → ${update.version} …`);
  if (!(await updater.follow(update, stop.signal))) return console.log(`update to ${update.version} failed`);
  restart = true;
  stop.abort();
}

const supervisor = values['run-processes'] ? new ProcessSupervisor() : undefined;
await agent.run({
  signal: stop.signal,
  heartbeat: () => ({
    ...heartbeat(),
    agent_version: version,
    ...(supervisor ? { processes: supervisor.states() } : {}),
  }),
  onHeartbeat: (ack) => {
    if (ack.agent_update) followUpdate(ack.agent_update).catch((error) => console.error(error));
  },
  handlers: handlers({
    allowShell: values['allow-shell']!,
    software,
    reportInventory,
    authorize: authorizeOn(server, () => agent.credentials?.access_token),
  }),
  onCommand: (command, outcome) => console.log(`${command.type} ${command.id}: ${outcome.status}`),
  onConfig: (config) => {
    supervisor?.apply(config.processes);
    console.log(
      `configuration ${config.version}: ${config.processes.length} monitored process(es)` +
        (supervisor ? '' : ' (start the agent with --run-processes to run them)'),
    );
  },
  onError: (error) =>
    console.error(
      `trouble reaching Meridian, retrying: ${error instanceof Error ? error.message : String(error)}`,
    ),
});
supervisor?.stopAll();
if (restart && updater) {
  console.log(`restarting into ${updater.current}`);
  await updater.restart();
}
console.log('stopped');
