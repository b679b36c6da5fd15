/**
 * Webhook signing secrets. Unlike bearer tokens they cannot be stored as a hash, since the
 * server signs every delivery with them: they are stored sealed (AES-256-GCM, replay-seal.ts)
 * under a key derived from the server's webhook secrets key (`MERIDIAN_WEBHOOK_SECRETS_KEY`).
 */
import { randomBytes } from 'node:crypto';
import type { AppContext } from '../context';
import { seal, unseal } from '../http/replay-seal';

/** How long a rotated-out secret keeps signing beside the new one. */
export const PREVIOUS_SECRET_TTL_SECONDS = 24 * 60 * 60;

/** A new secret in the Standard Webhooks format: `whsec_` and the base64 of 256 random bits. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const sealingKey = (context: AppContext): string => `webhook-secret\0${context.webhooks.secretsKey}`;

export function sealWebhookSecret(context: AppContext, secret: string): string {
  return seal(sealingKey(context), secret);
}

export function openWebhookSecret(context: AppContext, sealed: string): string {
  return unseal(sealingKey(context), sealed);
}
