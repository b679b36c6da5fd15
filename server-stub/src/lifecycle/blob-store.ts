/**
 * Where uploaded files (agent builds, installers) live: content-addressed by their SHA-256, streamed
 * in and out, never held whole in memory. `BlobStore` is the whole interface the rest of the server
 * uses, so an object store (S3 and the like) can stand in for the file system later.
 *
 * The file-system store keeps each blob at `<dir>/sha256/<2 hex>/<64 hex>`. An upload is written to
 * `<dir>/incoming/` while its digest and size are computed, then renamed into place (a rename in one
 * file system is atomic: a blob is either whole or absent); an upload refused on the way (too large,
 * another SHA-256 than declared, the client gone) removes its partial file, leaving nothing behind.
 * File names given by users never reach a path: only the hex digest does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A stored blob: its SHA-256 (lower-case hex) and size in bytes. */
export interface BlobInfo {
  sha256: string;
  size: number;
}

/** An inclusive byte range, as HTTP's `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutOptions {
  /** The upload is refused (BlobTooLargeError) as soon as more than this many bytes arrived. */
  maxBytes: number;
  /** The SHA-256 the uploader declared (hex): another digest is refused (BlobDigestMismatchError). */
  sha256?: string;
}

export interface BlobStore {
  /** Streams `source` in; resolves with its digest and size once it is stored whole. */
  put(source: Readable, options: PutOptions): Promise<BlobInfo>;
  /** The blob's bytes (or those of `range`); rejects with BlobNotFoundError when it is not stored. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  /** Whether the blob is stored (its size), null when not. */
  exists(sha256: string): Promise<BlobInfo | null>;
  /** Removes the blob; removing one that is not stored does nothing. */
  delete(sha256: string): Promise<void>;
}

export class BlobTooLargeError extends Error {
  override name = 'BlobTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the upload is larger than ${maxBytes} bytes`);
  }
}

export class BlobDigestMismatchError extends Error {
  override name = 'BlobDigestMismatchError';
  constructor(
    readonly declared: string,
    readonly actual: string,
  ) {
    super(`the upload's SHA-256 is ${actual}, not the declared ${declared}`);
  }
}

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(readonly sha256: string) {
    super(`no blob ${sha256}`);
  }
}

/** Counts and hashes what passes through, failing once more than `maxBytes` went by. */
class Measure extends Transform {
  readonly hash = createHash('sha256');
  size = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      done(new BlobTooLargeError(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }
}

function checkedDigest(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256 in hex: ${sha256}`);
  return sha256;
}

/** Blobs as files under one directory (MERIDIAN_BLOB_DIR). */
export class FileBlobStore implements BlobStore {
  constructor(readonly directory: string) {}

  #path(sha256: string): string {
    const digest = checkedDigest(sha256);
    return join(this.directory, 'sha256', digest.slice(0, 2), digest);
  }

  async put(source: Readable, options: PutOptions): Promise<BlobInfo> {
    const measure = new Measure(options.maxBytes);
    // Piped, not part of the pipeline: a refused upload stops reading the source without
    // destroying it (an HTTP request destroyed takes its socket along, and with it the answer).
    // Listening at once: the source may fail before the directory is there.
    const forward = (error: Error): void => void measure.destroy(error);
    const cutOff = (): void => {
      if (!source.readableEnded) forward(new Error('the upload ended before its end'));
    };
    source.once('error', forward);
    source.once('close', cutOff);
    // The pipeline below reports measure's failure; until it runs, this keeps it from being uncaught.
    measure.on('error', () => undefined);
    source.pipe(measure);
    const incoming = join(this.directory, 'incoming');
    const partial = join(incoming, randomUUID());
    try {
      await mkdir(incoming, { recursive: true });
      await pipeline(measure, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      const sha256 = measure.hash.digest('hex');
      if (options.sha256 !== undefined && options.sha256.toLowerCase() !== sha256)
        throw new BlobDigestMismatchError(options.sha256.toLowerCase(), sha256);
      const final = this.#path(sha256);
      await mkdir(join(final, '..'), { recursive: true });
      // The same content stored twice is one blob: the rename replaces it with identical bytes.
      await rename(partial, final);
      return { sha256, size: measure.size };
    } finally {
      source.off('error', forward);
      source.off('close', cutOff);
      source.unpipe(measure);
      await rm(partial, { force: true });
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.#path(sha256);
    if (!(await this.exists(sha256))) throw new BlobNotFoundError(sha256);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async exists(sha256: string): Promise<BlobInfo | null> {
    try {
      const found = await stat(this.#path(sha256));
      return { sha256, size: found.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.#path(sha256), { force: true });
  }
}
