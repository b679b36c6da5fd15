/** Anything headers can be given as; in a record, `null`/`undefined` removes the header. */
export type HeadersLike = Headers | [string, string][] | Record<string, string | null | undefined>;

/** Merges header sources left to right, case-insensitively; later sources win. */
export function mergeHeaders(...sources: (HeadersLike | undefined)[]): Headers {
  const merged = new Headers();
  for (const source of sources) {
    if (!source) continue;
    const entries: Iterable<[string, string | null | undefined]> =
      source instanceof Headers || Array.isArray(source) ? source : Object.entries(source);
    for (const [name, value] of entries) {
      if (value === null || value === undefined) merged.delete(name);
      else merged.set(name, value);
    }
  }
  return merged;
}
