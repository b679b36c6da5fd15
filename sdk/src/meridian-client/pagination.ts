/**
 * Cursor pagination (`?limit=&cursor=` → `{ data, next_cursor }`). A list method returns a
 * `PagePromise`: await it for the first `Page`, or iterate it with `for await` to get every item
 * of every page, fetching the next page only when the loop gets there.
 */
import { APIPromise, type APIResponse } from './api-promise';

/** The body of every list response. */
export interface PageBody<T> {
  data: T[];
  next_cursor: string | null;
}

export type FetchPage<T> = (cursor: string) => PagePromise<T>;

export interface ToArrayOptions {
  /** The most items to collect (required: a fleet can be large). `Infinity` collects everything. */
  limit: number;
}

export class Page<T> implements AsyncIterable<T> {
  /** The items of this page. */
  readonly data: T[];
  /** The cursor of the next page, or `null` on the last page. */
  readonly nextCursor: string | null;
  /** The response this page came from. */
  readonly response: Response;
  readonly #fetchPage: FetchPage<T>;

  constructor(body: PageBody<T>, response: Response, fetchPage: FetchPage<T>) {
    this.data = Array.isArray(body?.data) ? body.data : [];
    this.nextCursor =
      typeof body?.next_cursor === 'string' && body.next_cursor !== '' ? body.next_cursor : null;
    this.response = response;
    this.#fetchPage = fetchPage;
  }

  hasNextPage(): boolean {
    return this.nextCursor !== null;
  }

  /** Fetches the next page, with the same filters, `limit` and per-call options. */
  nextPage(): PagePromise<T> {
    if (this.nextCursor === null) {
      return new PagePromise(
        Promise.reject(new Error('This is the last page: check hasNextPage() before calling nextPage().')),
      );
    }
    return this.#fetchPage(this.nextCursor);
  }

  /** This page and every page after it. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.nextPage();
      yield page;
    }
  }

  /** Every item of this page and the pages after it. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }

  /** Collects items from this page on, stopping (and fetching no further page) at `limit`. */
  async toArray(options: ToArrayOptions): Promise<T[]> {
    const limit = checkLimit(options);
    const items: T[] = [];
    if (limit === 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= limit) break;
    }
    return items;
  }
}

function checkLimit(options: ToArrayOptions | undefined): number {
  const limit = options?.limit;
  if (
    typeof limit !== 'number' ||
    Number.isNaN(limit) ||
    limit < 0 ||
    (!Number.isInteger(limit) && limit !== Infinity)
  ) {
    throw new TypeError(
      'toArray() needs { limit }: the most items to collect (Infinity for all), so a large fleet cannot exhaust memory by accident.',
    );
  }
  return limit;
}

/** The promise a list method returns: awaitable for the first page, iterable for every item. */
export class PagePromise<T> extends APIPromise<Page<T>> implements AsyncIterable<T> {
  constructor(result: Promise<APIResponse<Page<T>>>) {
    super(result);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const page = await this;
    yield* page;
  }

  /** Collects items across pages, stopping at `limit` (required). */
  async toArray(options: ToArrayOptions): Promise<T[]> {
    try {
      checkLimit(options);
    } catch (error) {
      // The first page is already on its way; its failure must not surface as unhandled.
      this.then(undefined, () => {});
      throw error;
    }
    const page = await this;
    return page.toArray(options);
  }
}
