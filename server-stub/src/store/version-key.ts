/**
 * The sortable key of a version: each dot-separated part's leading digits, zero-padded to 10, so
 * `2.10.1` sorts after `2.9` as text. Device filters compare versions by it in SQL as
 * `meridian_version_key(column)`: a function registered on every SQLite connection (database.ts)
 * and created by migration 018 on PostgreSQL, both giving what this one gives.
 */
export function versionKey(version: string | null): string | null {
  if (version === null) return null;
  return version
    .split('.')
    .map((part) => (/^\d+/.exec(part)?.[0] ?? '0').padStart(10, '0').slice(0, 10))
    .join('.');
}

const cache = new Map<string, string>();

/** versionKey, remembered for the few thousand versions a fleet runs (SQLite calls it per row). */
export function cachedVersionKey(version: string | null): string | null {
  if (version === null) return null;
  let key = cache.get(version);
  if (key === undefined) {
    if (cache.size >= 10_000) cache.clear();
    key = versionKey(version)!;
    cache.set(version, key);
  }
  return key;
}

/** The PostgreSQL twin of versionKey (migration 018). */
export const POSTGRES_VERSION_KEY_FUNCTION = `
create or replace function meridian_version_key(version text) returns text
language sql immutable parallel safe as $$
  select coalesce(
    string_agg(lpad(coalesce(substring(part from '^[0-9]+'), '0'), 10, '0'), '.' order by position),
    '0000000000')
  from unnest(string_to_array(version, '.')) with ordinality as parts(part, position)
$$`;
