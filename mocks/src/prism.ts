/**
 * `npm run mock`: Prism serving the bundled spec on `PORT` (default 4010), in the foreground
 * with its request log, until Ctrl-C. SIGINT and SIGTERM are passed on to Prism, and this
 * process exits when Prism does (with its exit code if it failed).
 *
 * Secured operations need credentials here too, but only their presence is checked: send any
 * `Authorization: Bearer <token>`; without one they answer 401 (see start-prism.ts).
 */
import { startPrism } from './start-prism';

function portFromEnvironment(): number {
  const raw = process.env.PORT ?? '4010';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`PORT must be a port number (1–65535), not "${raw}"`);
  return port;
}

async function main(): Promise<number> {
  const prism = await startPrism({ port: portFromEnvironment(), echo: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void prism.close(signal));
  console.log(`\nMeridian mock API (Prism) at ${prism.url} (try ${prism.url}/health); Ctrl-C stops it.\n`);
  return (await prism.exited) ?? 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
