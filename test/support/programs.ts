/**
 * The outside programs some tests drive, found through settings a machine laid out differently
 * can override (the README lists them as prerequisites of `npm test`):
 *
 * - `MERIDIAN_TEST_CHROMIUM`: a Chromium executable (default Debian's `/usr/bin/chromium`);
 * - `MERIDIAN_TEST_POSTGRES_BIN`: the folder holding PostgreSQL's `initdb` and `pg_ctl`
 *   (default Debian's PostgreSQL 15, `/usr/lib/postgresql/15/bin`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

function required(path: string, setting: string, what: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `${what} not found at ${path}: install it (see the README's prerequisites) or set ${setting}.`,
    );
  }
  return path;
}

/** The folder of PostgreSQL's server binaries. */
export function postgresBin(): string {
  const bin = process.env.MERIDIAN_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
  required(join(bin, 'initdb'), 'MERIDIAN_TEST_POSTGRES_BIN', 'PostgreSQL (initdb)');
  return bin;
}

/** Flags for headless Chromium on a machine with no outside network and no GPU, as root. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Launches headless Chromium through playwright-core (never a downloaded browser). */
export function launchChromium(): Promise<Browser> {
  const executablePath = required(
    process.env.MERIDIAN_TEST_CHROMIUM ?? '/usr/bin/chromium',
    'MERIDIAN_TEST_CHROMIUM',
    'Chromium',
  );
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}
