/**
 * Sealing of stored idempotent responses. Only the client knows its Idempotency-Key; the server
 * keeps a digest of it to find the row, and encrypts the stored response (AES-256-GCM) with a
 * second key derived from it. Whoever reads the database sees neither the key nor the response.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const derive = (purpose: string, key: string): Buffer =>
  createHash('sha256').update(`meridian-idempotency-${purpose}\0${key}`).digest();

/** How a key is stored and looked up. */
export function keyDigest(key: string): string {
  return derive('id', key).toString('hex');
}

export function seal(key: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive('seal', key), iv);
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

export function unseal(key: string, stored: string): string {
  const bytes = Buffer.from(stored, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', derive('seal', key), bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
}
