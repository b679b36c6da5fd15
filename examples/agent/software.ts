/**
 * The software the reference agent installed, as its inventory reports it: a JSON file beside its
 * credentials. The reference agent reads no package manager, so this is the software it knows
 * about; `install_software` adds what an installer installed, by the command's detection rule.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { InstalledSoftware } from '@meridian/sdk';

export class SoftwareRegistry {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  list(): InstalledSoftware[] {
    return existsSync(this.#file)
      ? (JSON.parse(readFileSync(this.#file, 'utf8')) as InstalledSoftware[])
      : [];
  }

  /** Forgets the software named `name` (ignoring case). */
  remove(name: string): void {
    const others = this.list().filter((entry) => entry.name.toLowerCase() !== name.toLowerCase());
    mkdirSync(dirname(this.#file), { recursive: true });
    writeFileSync(this.#file, JSON.stringify(others, null, 2));
  }

  /** Records `software`, replacing an entry of the same name (ignoring case). */
  add(software: InstalledSoftware): void {
    const others = this.list().filter((entry) => entry.name.toLowerCase() !== software.name.toLowerCase());
    mkdirSync(dirname(this.#file), { recursive: true });
    writeFileSync(this.#file, JSON.stringify([...others, software], null, 2));
  }
}
