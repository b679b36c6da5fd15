/** Anything headers can be given as; in a record, `null`/`undefined` removes the header. */
export type HeadersLike = Headers | [string, string][] | Record<string, string | null | undefined>;

/** Header names (lower case) and values, as `fetch` takes them. */
export type HeaderRecord = Record<string, string>;

/** One header source as a record with lower-case names, its `null`s (removals) kept. */
export function lowerCaseHeaders(source: HeadersLike | undefined): Record<string, string | null> {
  const lowered: Record<string, string | null> = {};
  if (source instanceof Headers || Array.isArray(source)) {
    for (const [name, value] of source) lowered[name.toLowerCase()] = value;
  } else if (source) {
    for (const name in source) lowered[name.toLowerCase()] = source[name] ?? null;
  }
  return lowered;
}

/** Merges header sources left to right, case-insensitively (names come out lower case); later sources win. */
export function mergeHeaders(...sources: (HeadersLike | undefined)[]): HeaderRecord {
  const merged: HeaderRecord = {};
  for (const source of sources) {
    if (!source) continue;
    if (source instanceof Headers || Array.isArray(source)) {
      for (const [name, value] of source) merged[name.toLowerCase()] = value;
      continue;
    }
    for (const name in source) {
      const value = source[name];
      if (value === null || value === undefined) delete merged[name.toLowerCase()];
      else merged[name.toLowerCase()] = value;
    }
  }
  return merged;
}
