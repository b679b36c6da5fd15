import type { Kysely } from 'kysely';
import type { Engine } from './store/database';
import type { Database } from './store/schema';

/** What handlers and shared middleware need from the running server. */
export interface AppContext {
  db: Kysely<Database>;
  engine: Engine;
  version: string;
  /** scrypt cost parameter (N). Lower only in tests. */
  passwordCost: number;
  sessionTtlSeconds: number;
  rateLimit: { requestsPerMinute: number; loginFailuresPerMinute: number };
  /** Validate every response against the contract (on outside production). */
  validateResponses: boolean;
  now(): Date;
}

export const nowIso = (context: AppContext): string => context.now().toISOString();
