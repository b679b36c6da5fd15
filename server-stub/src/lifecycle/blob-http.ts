/**
 * Blobs over HTTP: an upload streamed from the request body into the blob store (size limit,
 * declared SHA-256), and a download streamed out of it with `ETag` (304 for `If-None-Match`) and
 * one byte range (`Range`, 206; 416 when it lies past the end; `If-Range`). Used by every
 * operation that takes or serves a file (agent release artifacts, installers).
 */
import type { Request, Response } from 'express';
import type { Readable } from 'node:stream';
import type { AppContext } from '../context';
import { ApiError, problems } from '../http/problem';
import {
  BlobDigestMismatchError,
  BlobTooLargeError,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
} from './blob-store';

/** `1073741824` → `1 GiB`, for messages. */
export function byteSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && value % 1024 === 0 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value} ${units[unit]}`;
}

const tooLarge = (maxBytes: number): ApiError => {
  const { status, code, title, detail } = problems.payloadTooLarge('Uploads', byteSize(maxBytes));
  // The rest of the body is not read: the connection cannot carry another request after it.
  return new ApiError(status, code, title, detail, undefined, { Connection: 'close' });
};

/**
 * Streams the request body into the blob store. Refused (and nothing kept): a body larger than
 * the limit (413, at once when its Content-Length says so), one whose SHA-256 is not `declared`
 * (422 `sha256_mismatch`), an empty one (422 `empty_upload`).
 */
export async function receiveBlob(context: AppContext, req: Request, declared?: string): Promise<BlobInfo> {
  const maxBytes = context.artifacts.maxBytes;
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes);
  try {
    const blob = await context.blobs.put(req, { maxBytes, ...(declared ? { sha256: declared } : {}) });
    if (blob.size === 0) {
      // Empty uploads are always refused, so no other upload uses this (empty) blob.
      await context.blobs.delete(blob.sha256);
      throw problems.unprocessable('empty_upload', 'The upload is empty: send the file as the body.');
    }
    return blob;
  } catch (error) {
    if (error instanceof BlobTooLargeError) throw tooLarge(maxBytes);
    if (error instanceof BlobDigestMismatchError)
      throw problems.unprocessable(
        'sha256_mismatch',
        `The uploaded file's SHA-256 is ${error.actual}, not the declared ${error.declared}; nothing was stored.`,
      );
    throw error;
  }
}

/** The one range of a `Range: bytes=…` header within `size`; 'unsatisfiable' past the end; null to send all. */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  // Several ranges, other units or a malformed header: RFC 9110 lets a server send the whole.
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [, first = '', last = ''] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export const blobEtag = (sha256: string): string => `"sha256-${sha256}"`;

const matchesEtag = (header: string | undefined, etag: string): boolean =>
  (header ?? '').split(',').some((tag) => {
    const value = tag.trim();
    return value === '*' || value === etag || value === `W/${etag}`;
  });

export interface BlobDownload {
  sha256: string;
  size: number;
  /** Sent as `Content-Disposition: attachment; filename=…` (names are checked on the way in). */
  fileName: string;
}

/** What a download route returns to ts-rest: the status and a body (a stream, or nothing). */
export type BlobAnswer = { status: 200 | 206; body: string } | { status: 304; body: undefined };

/**
 * Answers a GET for a blob: 304 when `If-None-Match` holds its ETag, 206 with one range, 416
 * (thrown, with `Content-Range: bytes *\/size`) for a range past its end, else 200 with all of it.
 */
export async function sendBlob(
  store: BlobStore,
  req: Request,
  res: Response,
  blob: BlobDownload,
): Promise<BlobAnswer> {
  const etag = blobEtag(blob.sha256);
  res.setHeader('ETag', etag);
  res.setHeader('Accept-Ranges', 'bytes');
  // Content never changes under its ETag: caches may keep it, and must ask before reusing it.
  res.setHeader('Cache-Control', 'private, no-cache');
  if (matchesEtag(req.headers['if-none-match'], etag)) return { status: 304, body: undefined };
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, blob.size) : null;
  if (range === 'unsatisfiable') {
    throw new ApiError(
      416,
      'range_not_satisfiable',
      'Range not satisfiable',
      `The file is ${blob.size} bytes long: ask for a range that starts before its end.`,
      undefined,
      { 'Content-Range': `bytes */${blob.size}` },
    );
  }
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Disposition', `attachment; filename="${blob.fileName}"`);
  const stream: Readable = await store.open(blob.sha256, range ?? undefined);
  if (range) {
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else res.setHeader('Content-Length', String(blob.size));
  // ts-rest sends a stream body as it is: the contract types the file as the bytes on the wire.
  return { status: range ? 206 : 200, body: stream as unknown as string };
}
