/**
 * The fleet simulator: N simulated agents (built on MeridianAgent) enrol through an
 * auto-approving code, heartbeat and answer commands, while an operator sends them commands and
 * times the round trips. Prints a progress line every few seconds and a summary.
 *
 *   MERIDIAN_URL=… MERIDIAN_TOKEN=<admin or operator token> npx tsx examples/fleet-sim/fleet-sim.ts --agents 50 --seconds 30
 *
 * Exits 1 if anything failed. The operator's token needs sites:write (it creates a site and a
 * code), devices:read and commands:write.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { Meridian, MeridianAgent, type AgentHeartbeat } from '@meridian/sdk';
import { FleetStats } from './stats';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '30' },
    'progress-every': { type: 'string', default: '5' },
  },
});
const agentCount = Number(values.agents);
const seconds = Number(values.seconds);
if (!Number.isInteger(agentCount) || agentCount < 1 || !(seconds > 0)) {
  console.error('usage: fleet-sim.ts --agents <n ≥ 1> --seconds <duration>');
  process.exit(2);
}
const baseUrl = process.env.MERIDIAN_URL ?? 'http://localhost:8080';
const operator = new Meridian({ baseUrl, token: process.env.MERIDIAN_TOKEN });
const stats = new FleetStats();
const stop = new AbortController();
// Every agent's loops listen on this one signal.
setMaxListeners(agentCount * 4 + 16, stop.signal);
const started = Date.now();

// 1. A site and an auto-approving code for the simulated fleet.
const site = await operator.sites.create({ name: `fleet-sim ${new Date().toISOString()}` });
const { code } = await operator.enrollmentCodes.create(site.id, {
  label: 'fleet simulator',
  auto_approve: true,
  max_uses: agentCount,
});

// 2. Enrol every agent (a few dozen at a time), then let each run its loops.
const heartbeat = (): AgentHeartbeat => ({
  status: 'ok',
  agent_version: 'sim-1.0.0',
  uptime_seconds: Math.floor((Date.now() - started) / 1000),
  metrics: { cpu_percent: Math.round(Math.random() * 100), memory_percent: 40, disk_percent: 55 },
});
const agents: MeridianAgent[] = [];
for (let first = 0; first < agentCount; first += 25) {
  const batch = Array.from({ length: Math.min(25, agentCount - first) }, (_, i) => first + i);
  agents.push(
    ...(await Promise.all(
      batch.map(async (n) => {
        const agent = new MeridianAgent({ baseUrl, logLevel: 'off' });
        const hostname = `sim-${String(n + 1).padStart(5, '0')}`;
        await agent.enroll({
          code,
          fingerprint: `sim:${randomUUID()}`,
          facts: { hostname, platform: 'linux', agent_version: 'sim-1.0.0' },
        });
        return agent;
      }),
    )),
  );
}
const running = agents.map((agent) =>
  agent
    .run({
      signal: stop.signal,
      heartbeat,
      pollWaitSeconds: 10,
      handlers: {
        echo: async (command) => ({ stdout: `${String(command.params.text)}\n` }),
        ping: async () => ({ stdout: 'pong\n' }),
      },
      onHeartbeat: () => stats.heartbeats++,
      onCommand: () => stats.commandsAnswered++,
      onError: (error) => stats.error(error),
      errorDelayMs: 1000,
    })
    .catch((error: unknown) => stats.error(error)),
);
console.log(
  `${agents.length} agents enrolled on site ${site.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);

// 3. The operator sends echo commands round-robin and waits for each result.
const operatorLoop = (async () => {
  for (let n = 0; !stop.signal.aborted; n++) {
    const deviceId = agents[n % agents.length]!.deviceId!;
    const sent = Date.now();
    try {
      const command = await operator.commands.create(
        { device_id: deviceId, type: 'echo', params: { text: `hello ${n}` }, timeout_seconds: 60 },
        { wait_seconds: 15 },
        { signal: stop.signal },
      );
      if (command.status !== 'succeeded') throw new Error(`command ${command.id} ended ${command.status}`);
      stats.roundTripsMs.push(Date.now() - sent);
    } catch (error) {
      if (!stop.signal.aborted) stats.error(error);
    }
  }
})();

const line = (): string => {
  const elapsed = (Date.now() - started) / 1000;
  const p50 = stats.percentile(50);
  return `t=${elapsed.toFixed(0)}s agents=${agents.length} heartbeats=${stats.heartbeats} (${(stats.heartbeats / elapsed).toFixed(1)}/s) commands=${stats.roundTripsMs.length}${p50 === undefined ? '' : ` p50=${p50}ms`} errors=${stats.errors}`;
};
const progress = setInterval(() => console.log(line()), Number(values['progress-every']) * 1000);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
stop.abort();
clearInterval(progress);
await Promise.all([operatorLoop, ...running]);

const elapsed = (Date.now() - started) / 1000;
console.log(
  `summary: ${agents.length} agents, ${elapsed.toFixed(1)} s, heartbeats ${stats.heartbeats} (${(stats.heartbeats / elapsed).toFixed(1)}/s), ` +
    `commands ${stats.roundTripsMs.length} (round trip p50 ${stats.percentile(50) ?? '-'} ms, p99 ${stats.percentile(99) ?? '-'} ms), errors ${stats.errors}`,
);
for (const message of stats.lastErrors) console.log(`  error: ${message}`);
process.exit(stats.errors === 0 ? 0 : 1);
