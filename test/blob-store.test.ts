/**
 * The blob store (server-stub/src/lifecycle/blob-store.ts): content-addressed by SHA-256, streamed
 * in and out, and a refused upload (too large, another SHA-256 than declared, a source that fails
 * half-way) leaves no file behind. The HTTP side (Range, ETag, limits per request) is proven
 * through the operations that use it (test/agent-releases.test.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobDigestMismatchError,
  BlobNotFoundError,
  BlobTooLargeError,
  FileBlobStore,
} from '../server-stub/src/lifecycle/blob-store';
import { parseRange } from '../server-stub/src/lifecycle/blob-http';

let dir: string;
let store: FileBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meridian-blob-test-'));
  store = new FileBlobStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

/** Every file under the store's directory (directories left empty do not count). */
async function files(): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

/** A source in chunks, as a request body arrives. */
const chunks = (...parts: string[]): Readable => Readable.from(parts.map((part) => Buffer.from(part)));

describe('FileBlobStore', () => {
  it('stores a stream under its SHA-256 and gives it back, whole or a range', async () => {
    const content = 'hello, blob store';
    const blob = await store.put(chunks('hello, ', 'blob ', 'store'), { maxBytes: 100 });
    expect(blob).toEqual({ sha256: sha256(content), size: content.length });
    expect(await files()).toEqual([sha256(content)]);
    expect(await store.exists(blob.sha256)).toEqual(blob);
    expect(await text(await store.open(blob.sha256))).toBe(content);
    expect(await text(await store.open(blob.sha256, { start: 7, end: 10 }))).toBe('blob');
  });

  it('keeps one copy of the same content, and accepts a declared SHA-256 in either case', async () => {
    const first = await store.put(chunks('same'), { maxBytes: 10 });
    const second = await store.put(chunks('sa', 'me'), {
      maxBytes: 10,
      sha256: sha256('same').toUpperCase(),
    });
    expect(second).toEqual(first);
    expect(await files()).toEqual([first.sha256]);
  });

  it('refuses an upload larger than the limit and keeps nothing of it', async () => {
    await expect(store.put(chunks('12345', '67890', 'x'), { maxBytes: 10 })).rejects.toBeInstanceOf(
      BlobTooLargeError,
    );
    expect(await files()).toEqual([]);
  });

  it('refuses an upload whose SHA-256 is not the declared one and keeps nothing of it', async () => {
    const declared = sha256('something else');
    const refused = store.put(chunks('content'), { maxBytes: 100, sha256: declared });
    await expect(refused).rejects.toBeInstanceOf(BlobDigestMismatchError);
    await expect(refused).rejects.toMatchObject({ declared, actual: sha256('content') });
    expect(await files()).toEqual([]);
    expect(await store.exists(sha256('content'))).toBeNull();
  });

  it('keeps nothing of a source that fails half-way', async () => {
    const failing = new Readable({ read() {} });
    const put = store.put(failing, { maxBytes: 100 });
    failing.push(Buffer.from('partial'));
    failing.destroy(new Error('connection reset'));
    await expect(put).rejects.toThrow('connection reset');
    expect(await files()).toEqual([]);
  });

  it('deletes a blob, and answers for a blob it does not have', async () => {
    const blob = await store.put(chunks('gone soon'), { maxBytes: 100 });
    await store.delete(blob.sha256);
    await store.delete(blob.sha256);
    expect(await store.exists(blob.sha256)).toBeNull();
    await expect(store.open(blob.sha256)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('never builds a path from anything but a SHA-256', async () => {
    await expect(store.exists('../../etc/passwd')).rejects.toThrow('not a SHA-256');
    await expect(store.open(`${'a'.repeat(63)}/`)).rejects.toThrow('not a SHA-256');
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=90-', { start: 90, end: 99 }],
    ['bytes=95-200', { start: 95, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['bytes=100-', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    // Malformed, several ranges or reversed: the whole file is sent (RFC 9110 allows ignoring Range).
    ['bytes=9-0', null],
    ['bytes=0-1,5-6', null],
    ['items=0-1', null],
    ['bytes=-', null],
  ] as const)('%s of 100 bytes → %j', (header, expected) => {
    expect(parseRange(header, 100)).toEqual(expected);
  });
});
