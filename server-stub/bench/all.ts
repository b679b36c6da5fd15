/**
 * `npm run bench`: every bench in turn, each in a process of its own, even when an earlier one
 * misses its goal, so one run prints every figure; exits non-zero when any bench did.
 */
import { spawnSync } from 'node:child_process';

const benches = ['heartbeat', 'webhooks', 'filters', 'devices', 'sdk'];
const missed = benches.filter(
  (bench) => spawnSync('npm', ['run', `bench:${bench}`], { stdio: 'inherit' }).status !== 0,
);
console.log(
  missed.length === 0 ? `\nevery bench met its goal` : `\nmissed their goal or failed: ${missed.join(', ')}`,
);
process.exitCode = missed.length === 0 ? 0 : 1;
