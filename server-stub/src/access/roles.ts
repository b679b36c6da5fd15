import type { z } from 'zod';
import type { AppContext } from '../context';
import { type Role as RoleSchema, Scope as ScopeSchema } from '../generated/contract.gen';

export type Role = z.infer<typeof RoleSchema>;
export type Scope = z.infer<typeof ScopeSchema>;

/**
 * The built-in roles' fixed IDs (a ULID's shape, before any real one, so they list first). Their
 * scopes are ROLE_SCOPES; custom roles are rows of the roles table (access/roles-store.ts).
 */
export const BUILT_IN_ROLE_IDS: Record<Role, string> = {
  admin: 'rol_000000000000000001ADM1N000',
  operator: 'rol_0000000000000000020PERAT0R',
  viewer: 'rol_000000000000000003V1EWER00',
};

/** Whether a role the user holds asks for multi-factor authentication (`require_mfa`). */
export async function rolesRequireMfa(context: AppContext, userId: string): Promise<boolean> {
  const row = await context.db
    .selectFrom('role_bindings as b')
    .innerJoin('roles as r', 'r.id', 'b.role_id')
    .select('r.id')
    .where('b.user_id', '=', userId)
    .where('r.require_mfa', '=', 1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Every scope the spec defines (admins hold them all). */
const ALL_SCOPES: readonly Scope[] = ScopeSchema.options;

/** What each role may do, as the spec's Role description states it. */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: ALL_SCOPES,
  operator: [
    'tokens:read',
    'tokens:write',
    'sites:read',
    'devices:read',
    'devices:write',
    'enrollment:read',
    'enrollment:write',
    'commands:read',
    'commands:write',
    'filters:read',
    'filters:write',
    'scripts:read',
    'releases:read',
    'rollouts:read',
    'rollouts:write',
    'jobs:read',
    'jobs:write',
    'events:read',
    'events:write',
    'alerts:read',
    'incidents:read',
    'incidents:write',
    'schedules:read',
    'schedules:write',
    'software:read',
    'software:write',
  ],
  viewer: [
    'tokens:read',
    'tokens:write',
    'sites:read',
    'devices:read',
    'enrollment:read',
    'commands:read',
    'filters:read',
    'scripts:read',
    'releases:read',
    'rollouts:read',
    'jobs:read',
    'events:read',
    'alerts:read',
    'incidents:read',
    'schedules:read',
    'software:read',
  ],
};
