import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

export type IdPrefix =
  | 'usr'
  | 'site'
  | 'dev'
  | 'tok'
  | 'ses'
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
  | 'flt';

/** A new opaque, prefixed, time-sortable ID such as `dev_01JD2M7T4X9K3QH5W8N6R2B4CZ`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
