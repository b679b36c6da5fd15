/**
 * A Meridian server in a process of its own, for tests that kill it: `tsx child-server.ts
 * '<ServerOptions as JSON>'` starts it and prints `READY <url>` once it listens.
 */
import { startServer } from '@meridian/server';

const server = await startServer(JSON.parse(process.argv[2]!));
console.log(`READY ${server.url}`);
