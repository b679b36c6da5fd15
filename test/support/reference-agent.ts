/**
 * The reference agent (examples/agent/agent.ts) run as a user runs it, a separate process, against
 * a test server: enrolled with a code the first time, resumed with its saved credentials after.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const AGENT = fileURLToPath(new URL('../../examples/agent/agent.ts', import.meta.url));

export interface ReferenceAgent {
  process: ChildProcessWithoutNullStreams;
  deviceId: string;
}

/**
 * Starts the agent with its credentials in `state` (enrolling with `enrollmentCode()` when there
 * are none yet) and `flags`, on the server at `url` (without one: the server its state names);
 * resolves once it waits for commands.
 */
export async function startReferenceAgent(options: {
  url?: string;
  state: string;
  enrollmentCode: () => Promise<string>;
  flags?: string[];
  seconds?: number;
}): Promise<ReferenceAgent> {
  const enrollment = existsSync(options.state)
    ? {}
    : { MERIDIAN_ENROLL_CODE: await options.enrollmentCode() };
  const agent = spawn(
    TSX,
    [AGENT, '--state', options.state, '--for', String(options.seconds ?? 60), ...(options.flags ?? [])],
    { env: { ...process.env, MERIDIAN_URL: options.url, ...enrollment } },
  );
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    agent.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('online; waiting for commands')) resolve();
    });
    agent.once('exit', (code) =>
      reject(new Error(`the agent exited (${code}) before it was online: ${stdout}`)),
    );
  });
  const { device_id } = JSON.parse(readFileSync(options.state, 'utf8')) as { device_id: string };
  return { process: agent, deviceId: device_id };
}

/** Stops the agent (when it still runs) and waits for it to exit. */
export async function stopReferenceAgent(agent: ReferenceAgent | undefined): Promise<void> {
  if (!agent || agent.process.exitCode !== null) return;
  const exited = new Promise((resolve) => agent.process.once('exit', resolve));
  agent.process.kill('SIGTERM');
  await exited;
}
