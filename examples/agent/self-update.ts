/**
 * The reference agent's self-update. A heartbeat answer's `agent_update` names the version a
 * rollout brings this device to; the agent downloads its platform's build (from Meridian with its
 * token, or from the build's own URL), checks the SHA-256 and installs it in its install directory:
 *
 *   <install-dir>/versions/<version>/meridian-agent   each build, executable
 *   <install-dir>/current  -> versions/<version>       the build that runs
 *   <install-dir>/previous -> versions/<version>       the one before, kept to go back to
 *
 * then notes the update in <install-dir>/pending-update.json and restarts into `current`. The new
 * build reports the outcome when it starts (`finishPendingUpdate`): succeeded when it runs the
 * version it was asked to, else failed, with `current` switched back to `previous`. A download that
 * fails or does not match its SHA-256 is reported failed at once and the old build keeps running.
 * Rolling back is a rollout of the older release: it is installed the same way.
 *
 * Node.js cannot replace its own process, so "restarting" starts the new build with the same
 * arguments, hands it the signals this process gets and exits with its exit code; under a service
 * manager (systemd, launchd, a Windows service) point the service at `current/meridian-agent`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentPlatform, AgentUpdate, MeridianAgent } from '@meridian/sdk';
import { download } from './uninstall-software';

const BUILD = 'meridian-agent';

interface PendingUpdate {
  rollout_id: string;
  version: string;
  from_version: string;
}

/** This machine's platform as agent releases name it (`linux-amd64`, …). */
export function agentPlatform(): AgentPlatform {
  const os = { linux: 'linux', darwin: 'macos', win32: 'windows' }[process.platform as string];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  return `${os ?? 'linux'}-${arch ?? 'amd64'}` as AgentPlatform;
}

/** Points `link` at `target` in one step (a new link renamed over the old one). */
async function relink(link: string, target: string): Promise<void> {
  const fresh = `${link}.new`;
  await rm(fresh, { force: true });
  await symlink(target, fresh);
  await rename(fresh, link);
}

export class SelfUpdater {
  readonly #dir: string;
  readonly #agent: MeridianAgent;
  readonly #version: string;
  #busy = false;

  constructor(options: { installDir: string; agent: MeridianAgent; version: string }) {
    this.#dir = options.installDir;
    this.#agent = options.agent;
    this.#version = options.version;
  }

  get #pendingFile(): string {
    return join(this.#dir, 'pending-update.json');
  }

  /** The build `current` points to (what a restart runs). */
  get current(): string {
    return join(this.#dir, 'current', BUILD);
  }

  /**
   * Follows a heartbeat's `agent_update`: resolves to true once the new build is installed (restart
   * into it), false when there was nothing to do or the update failed (reported, old build kept).
   */
  async follow(update: AgentUpdate, signal: AbortSignal): Promise<boolean> {
    if (this.#busy) return false;
    this.#busy = true;
    try {
      await this.#install(update, signal);
      const pending: PendingUpdate = {
        rollout_id: update.rollout_id,
        version: update.version,
        from_version: this.#version,
      };
      await writeFile(this.#pendingFile, JSON.stringify(pending));
      return true;
    } catch (error) {
      await this.#agent.reportUpdate({
        rollout_id: update.rollout_id,
        outcome: 'failed',
        version: this.#version,
        error: (error instanceof Error ? error.message : String(error)).slice(0, 2000),
      });
      return false;
    } finally {
      this.#busy = false;
    }
  }

  async #install(update: AgentUpdate, signal: AbortSignal): Promise<void> {
    const platform = agentPlatform();
    const build = update.artifacts.find((artifact) => artifact.platform === platform);
    if (!build) throw new Error(`Release ${update.version} has no ${platform} build.`);
    const directory = join(this.#dir, 'versions', update.version);
    await rm(directory, { recursive: true, force: true });
    await mkdir(directory, { recursive: true });
    const partial = join(directory, `${BUILD}.partial`);
    const sha256 = await download(
      build.url.startsWith('/') ? await this.#agent.downloadUpdate(platform, { signal }) : build.url,
      partial,
      signal,
    );
    if (sha256 !== build.sha256) {
      await rm(directory, { recursive: true, force: true });
      throw new Error(
        `The ${platform} build of ${update.version} has SHA-256 ${sha256}, not ${build.sha256}: not installed.`,
      );
    }
    await rename(partial, join(directory, BUILD));
    const current = join(this.#dir, 'current');
    if (existsSync(current)) await relink(join(this.#dir, 'previous'), await readlink(current));
    await relink(current, join('versions', update.version));
  }

  /**
   * At start: reports the update that led to this start, if one did. Succeeded when this build runs
   * the version asked for; otherwise failed, with `current` back on the previous build.
   */
  async finishPendingUpdate(): Promise<void> {
    if (!existsSync(this.#pendingFile)) return;
    const pending = JSON.parse(await readFile(this.#pendingFile, 'utf8')) as PendingUpdate;
    if (pending.version === this.#version) {
      await this.#agent.reportUpdate({
        rollout_id: pending.rollout_id,
        outcome: 'succeeded',
        version: pending.version,
      });
    } else {
      const previous = join(this.#dir, 'previous');
      if (existsSync(previous)) await relink(join(this.#dir, 'current'), await readlink(previous));
      await this.#agent.reportUpdate({
        rollout_id: pending.rollout_id,
        outcome: 'failed',
        version: this.#version,
        error: `Restarted into the build of ${pending.version}, but it runs ${this.#version}.`,
      });
    }
    await rm(this.#pendingFile);
  }

  /**
   * Runs `current` with this process's arguments in its place: signals are handed on, and this
   * process exits with the new build's exit code.
   */
  restart(): Promise<never> {
    const { MERIDIAN_ENROLL_CODE: _used, ...env } = process.env;
    const child = spawn(this.current, process.argv.slice(2), { stdio: 'inherit', env });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    return new Promise(() => {
      child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
      child.once('error', (error) => {
        console.error(`could not start ${this.current}: ${error.message}`);
        process.exit(1);
      });
    });
  }
}
