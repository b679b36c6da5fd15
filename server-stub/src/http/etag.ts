import type { Response } from 'express';
import { problems } from './problem';

/** Resources carry a version number that every update increments; the ETag is that number. */
const etagOf = (version: number): string => `"${version}"`;

export function setEtag(res: Response, version: number): void {
  res.setHeader('ETag', etagOf(version));
}

/** Throws 412 unless `If-Match` is absent, `*`, or lists the current version. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined) return;
  const current = etagOf(version);
  const sent = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!sent.includes('*') && !sent.includes(current)) throw problems.preconditionFailed(ifMatch, current);
}
