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

const { values } = parseArgs({
  options: {
    state: { type: 'string', default: './data/agent-credentials.json' },
    'allow-shell': { type: 'boolean', default: false },
    'run-processes': { type: 'boolean', default: false },
    for: { type: 'string' },
    'install-dir': { type: 'string' },
  },
});
const version = process.env.MERIDIAN_AGENT_VERSION ?? AGENT_VERSION;
const statePath = values.state!;
const saved = existsSync(statePath)
  ? (JSON.parse(readFileSync(statePath, 'utf8')) as AgentCredentials)
  : undefined;

const agent = new MeridianAgent({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  ...(saved ? { credentials: saved } : {}),
  onCredentials: (credentials) => {
    mkdirSync(dirname(statePath), { recursive: true });
    writeFileSync(statePath, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  },
});

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
if (values.for) setTimeout(() => stop.abort(), Number(values.for) * 1000).unref();

if (!saved) {
  const code = process.env.MERIDIAN_ENROLL_CODE;
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
  handlers: handlers({ allowShell: values['allow-shell']!, software, reportInventory }),
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
