/**
 * A Meridian server in a process of its own, for tests that kill it or stop it with a signal:
 * `tsx child-server.ts '<ServerOptions as JSON>'` starts it and prints `READY <url>` once it
 * listens. SIGTERM and SIGINT shut it down gracefully, as `npm start` does.
 */
import { shutDownOnSignals, startServer } from '@meridian/server';

const server = await startServer(JSON.parse(process.argv[2]!));
shutDownOnSignals(server);
console.log(`READY ${server.url}`);
