/**
 * Starts Prism, the spec-driven mock server, on the bundled spec (openapi/dist/openapi.json)
 * as a child process, and resolves once it answers `GET /health`.
 *
 * What Prism does with the spec (Prism 5.14, static mode, the default):
 * - answers each operation with the example of its lowest declared 2xx; `Prefer: code=404`
 *   (or `example=<name>`) picks another declared response;
 * - validates the request first: a path parameter, query or body that breaks the schema gets
 *   the operation's declared 400 (parameters) or 422 (bodies) example, with the actual
 *   violations in an `sl-violations` header (the body is the spec's example, not a diagnosis);
 * - checks credentials only for presence and form: a secured operation without any of its
 *   schemes (`Authorization: Bearer …`, or the `meridian_session` cookie) answers the declared
 *   401 example; any bearer token is accepted, and scopes are not checked.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRISM_BIN = `${REPO_ROOT}node_modules/.bin/prism`;
const BUNDLED_SPEC = `${REPO_ROOT}openapi/dist/openapi.json`;
const HOST = '127.0.0.1';
/** How much of Prism's stderr to keep for error messages (its exitReasons end with the cause). */
const STDERR_TAIL = 4000;
const POLL_INTERVAL_MS = 200;
/** How long Prism gets to exit after `close()` before it is killed outright. */
const KILL_AFTER_MS = 5000;

export interface StartPrismOptions {
  /** The port to listen on (on 127.0.0.1); a free one is picked when omitted. */
  port?: number;
  /** How long Prism may take to answer `GET /health` (it usually needs 2–8 s). Default 30 s. */
  timeoutMs?: number;
  /** Copy Prism's own log (a few lines per request) to this process's stdout and stderr. */
  echo?: boolean;
}

export interface PrismServer {
  /** `http://127.0.0.1:<port>`: the SDK's `baseUrl`. */
  url: string;
  /** Settles when Prism stops, for whatever reason, with its exit code (`null` after a signal). */
  exited: Promise<number | null>;
  /** Stops Prism with `signal` (default SIGTERM) and resolves once it has exited. */
  close(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Checks that `port` is free by listening on it (port 0: lets the system pick one) and returns
 * it. A busy port fails here with a clear message, instead of `GET /health` reaching whatever
 * already listens there. Another process could still take a picked port before Prism binds it;
 * Prism then exits with EADDRINUSE, which `startPrism` reports.
 */
async function freePort(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} on ${HOST} is already in use; choose another one`)
          : error,
      ),
    );
    server.listen(port, HOST, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

export async function startPrism({
  port = 0,
  timeoutMs = 30_000,
  echo = false,
}: StartPrismOptions = {}): Promise<PrismServer> {
  const listenPort = await freePort(port);
  const url = `http://${HOST}:${listenPort}`;
  // stdout is Prism's request log: dropped unless echoed, since an unread pipe would fill and stall Prism.
  const child = spawn(PRISM_BIN, ['mock', '-h', HOST, '-p', String(listenPort), BUNDLED_SPEC], {
    cwd: REPO_ROOT,
    stdio: ['ignore', echo ? 'inherit' : 'ignore', 'pipe'],
  });

  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
    if (echo) process.stderr.write(chunk);
  });
  /** Set once Prism is gone (exited, or never started): why. */
  let exitReason: string | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      exitReason = `could not be started: ${error.message}`;
      resolve(null);
    });
    // 'close' rather than 'exit': it comes after stderr has been read to the end.
    child.once('close', (code, signal) => {
      exitReason ??= `exited (${code === null ? `signal ${signal}` : `code ${code}`})`;
      resolve(code);
    });
  });

  const close = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (exitReason !== undefined) return;
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    await exited;
    clearTimeout(killer);
  };

  const startError = (reason: string): Error =>
    new Error(
      `Prism (${PRISM_BIN} mock on port ${listenPort}) ${reason}.\nIts stderr ends with:\n${stderr.trim() || '(nothing)'}`,
    );
  const deadline = Date.now() + timeoutMs;
  while (!(await answersHealth(url))) {
    if (exitReason !== undefined) throw startError(exitReason);
    if (Date.now() > deadline) {
      await close();
      throw startError(`did not answer GET ${url}/health within ${timeoutMs} ms`);
    }
    await delay(POLL_INTERVAL_MS);
  }
  return { url, exited, close };
}
