/** Anything headers can be given as; in a record, `null`/`undefined` removes the header. */
export type HeadersLike = Headers | [string, string][] | Record<string, string | null | undefined>;

/** Header names (lower case) and values, as `fetch` takes them. */
export type HeaderRecord = Record<string, string>;

/** Calls `visit` with each header of `source`, its name in lower case; `null` for a removal. */
function forEachHeader(source: HeadersLike, visit: (name: string, value: string | null) => void): void {
  if (source instanceof Headers || Array.isArray(source)) {
    for (const [name, value] of source) visit(name.toLowerCase(), value);
  } else {
    for (const name in source) visit(name.toLowerCase(), source[name] ?? null);
  }
}

/** One header source as a record with lower-case names, its `null`s (removals) kept. */
export function lowerCaseHeaders(source: HeadersLike | undefined): Record<string, string | null> {
  const lowered: Record<string, string | null> = {};
  if (source)
    forEachHeader(source, (name, value) => {
      lowered[name] = value;
    });
  return lowered;
}

/** Merges header sources left to right, case-insensitively (names come out lower case); later sources win. */
export function mergeHeaders(...sources: (HeadersLike | undefined)[]): HeaderRecord {
  const merged: HeaderRecord = {};
  const add = (name: string, value: string | null): void => {
    if (value === null) delete merged[name];
    else merged[name] = value;
  };
  for (const source of sources) if (source) forEachHeader(source, add);
  return merged;
}
