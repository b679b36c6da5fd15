/**
 * How every generator of ours writes a file: formatted by Biome with the project's settings, so
 * generated code looks like the hand-written code and the drift check compares formatted text.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { repoPath } from './paths';

/** `source` as Biome formats it for a file at `path` (the path picks the language and settings). */
export function formatSource(path: string, source: string): string {
  return execFileSync(repoPath('node_modules/.bin/biome'), ['format', `--stdin-file-path=${path}`], {
    input: source,
    encoding: 'utf8',
    cwd: repoPath('.'),
    // The MSW handlers passed Node's default 1 MiB of output (ENOBUFS).
    maxBuffer: 64 * 1024 * 1024,
  });
}

export function writeGeneratedFile(path: string, source: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatSource(path, source));
}
