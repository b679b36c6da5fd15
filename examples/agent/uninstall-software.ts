/**
 * The reference agent's `uninstall_software` command. Uninstalling changes the machine, so it is
 * refused unless the agent was started with `--allow-shell`. The reference agent has no platform
 * uninstaller of its own: it uninstalls with the installer the command names (`url` and
 * `sha256`), a shell script it downloads, checks against its SHA-256 and runs with `sh` and the
 * command's `arguments` (the installer's silent uninstall arguments), reporting the stages a
 * deployment shows (`downloading`, then `uninstalling`). When that exits 0 it forgets the software
 * (software.ts) and reports its inventory again, so the device's inventory no longer shows it.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import type { CommandHandler, CommandResult } from '@meridian/sdk';
import { runInstallerScript } from './installer-script';
import type { SoftwareRegistry } from './software';

/** How long the uninstaller may run (the command's own timeout ends it sooner). */
const UNINSTALL_TIMEOUT_MS = 30 * 60 * 1000;

interface UninstallParams {
  name: string;
  version?: string;
  arguments?: string[];
  url?: string;
  sha256?: string;
}

/** The headers a download from `url` is sent with. */
export type Authorize = (url: string) => Record<string, string>;

/**
 * The agent's access token (`Authorization: Bearer`) for a URL on the server it is enrolled with
 * (`server`'s origin: scheme, host and port), as an installer uploaded to Meridian is
 * (GET /v1/agent/installers/{id}/artifact); nothing for any other host. (A redirect to another
 * origin drops the header: fetch does.)
 */
export const authorizeOn =
  (server: string, accessToken: () => string | undefined): Authorize =>
  (url): Record<string, string> => {
    const token = accessToken();
    return token !== undefined && new URL(url).origin === new URL(server).origin
      ? { authorization: `Bearer ${token}` }
      : {};
  };

/**
 * Downloads `from` (a URL, fetched with `headers`, or a response whose body is unread) into `file`,
 * answering the SHA-256 (lowercase hex) of what arrived.
 */
export async function download(
  from: string | Response,
  file: string,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = typeof from === 'string' ? await fetch(from, { signal, headers }) : from;
  if (!response.ok || !response.body) throw new Error(`GET ${response.url} answered ${response.status}.`);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(
    Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
    hashing,
    createWriteStream(file, { mode: 0o700 }),
    { signal },
  );
  return hash.digest('hex');
}

export function uninstallSoftware(config: {
  allowShell: boolean;
  software: SoftwareRegistry;
  reportInventory: () => Promise<void>;
  authorize: Authorize;
}): CommandHandler {
  return async (command, context): Promise<CommandResult> => {
    const params = command.params as unknown as UninstallParams;
    const what = `${params.name}${params.version ? ` ${params.version}` : ''}`;
    if (!config.allowShell)
      return {
        status: 'failed',
        error: `This agent does not uninstall software: start it with --allow-shell to let it uninstall ${what}.`,
      };
    if (!params.url || !params.sha256)
      return {
        status: 'failed',
        error: `The reference agent uninstalls only with an installer script (url and sha256); ${what} has none.`,
      };
    const ran = await runInstallerScript({ ...params, url: params.url, sha256: params.sha256 }, context, {
      stage: 'uninstalling',
      what,
      timeoutMs: UNINSTALL_TIMEOUT_MS,
      authorize: config.authorize,
    });
    if ('failed' in ran) return ran.failed;
    config.software.remove(params.name);
    await config.reportInventory();
    return { ...ran.output, exit_code: 0 };
  };
}
