import { randomBytes } from 'node:crypto';
import { decodeTime, encodeTime, monotonicFactory, TIME_LEN } from 'ulid';

/**
 * ulid's random source, drawn from a pool of random bytes refilled 4 KiB at a time: its default
 * asks the operating system for each of an ID's 16 random characters, which showed in profiles of
 * busy request paths (every request gets an ID).
 */
let pool = Buffer.alloc(0);
let used = 0;
function pooledRandom(): number {
  if (used === pool.length) {
    pool = randomBytes(4096);
    used = 0;
  }
  return pool[used++]! / 256;
}

const ulid = monotonicFactory(pooledRandom);

export type IdPrefix =
  | 'ins'
  | 'dpl'
  | 'sbe'
  | 'sbo'
  | 'usr'
  | 'psk'
  | 'art'
  | 'rel'
  | 'idp'
  | 'rol'
  | 'site'
  | 'dev'
  | 'rlo'
  | 'tok'
  | 'ses'
  | 'prt'
  | 'req'
  | 'enc'
  | 'enr'
  | 'atk'
  | 'evt'
  | 'cmd'
  | 'job'
  | 'prc'
  | 'scr'
  | 'sch'
  | 'spt'
  | 'spv'
  | 'alr'
  | 'inc'
  | 'itl'
  | 'aud'
  | 'whk'
  | 'dlv'
  | 'wat'
  | 'nch'
  | 'ntf'
  | 'cfd'
  | 'dvw'
  | 'flt'
  | 'rcv'
  | 'mfc';

/** A new opaque, prefixed, time-sortable ID such as `dev_01JD2M7T4X9K3QH5W8N6R2B4CZ`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

/**
 * The lowest ID of `id`'s kind made `ms` before it (every ID above it was made at most `ms`
 * earlier), or `id` itself when it is no ID of ours.
 */
export function idBefore(id: string, ms: number): string {
  const [prefix, value] = id.split('_');
  try {
    return `${prefix}_${encodeTime(Math.max(0, decodeTime(value ?? '') - ms), TIME_LEN)}`;
  } catch {
    return id;
  }
}
