/**
 * The server lifecycle of a test file in one line:
 *
 * ```ts
 * const t = useTestServer();                                  // or useTestServer({ requestsPerMinute: 40 })
 * const t = useTestServer({ world: true });                   // t.world: the populated world of world.ts
 * const t = useTestServer(() => ({ database: pg.url }));      // options known only once earlier hooks ran
 * ```
 *
 * It registers the file's (or the enclosing `describe`'s) `beforeAll`, which starts the server
 * (startTestServer, with the given options) and builds the world if asked, and the `afterAll`
 * that closes it. `t` is the running TestServer from then on: read it inside tests and hooks. A
 * file's own `beforeAll` registered after the call sees it started; its own `afterAll` runs
 * before the server closes (vitest runs afterAll hooks in reverse order).
 */
import type { ServerOptions } from '@meridian/server';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server';
import { buildWorld, type World } from './world';

type StartOptions = Partial<ServerOptions>;

export function useTestServer(options: StartOptions & { world: true }): TestServer & { world: World };
export function useTestServer(options?: StartOptions | (() => StartOptions)): TestServer;
export function useTestServer(
  options: (StartOptions & { world?: boolean }) | (() => StartOptions) = {},
): TestServer {
  let running: (TestServer & { world?: World }) | undefined;
  beforeAll(async () => {
    const chosen: StartOptions & { world?: boolean } = typeof options === 'function' ? options() : options;
    const { world, ...start } = chosen;
    const t = await startTestServer(start);
    running = t;
    if (world) running.world = await buildWorld(t);
  });
  afterAll(() => running?.close());
  // Every property read goes to the server started by beforeAll (`travel` replaces `admin`).
  return new Proxy({} as TestServer, {
    get: (_, property) => {
      if (!running)
        throw new Error('useTestServer: the server starts in beforeAll; read it in a test or hook');
      return Reflect.get(running, property);
    },
  });
}
