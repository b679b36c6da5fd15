import type { z } from 'zod';
import { type Role as RoleSchema, Scope as ScopeSchema } from '../generated/contract.gen';

export type Role = z.infer<typeof RoleSchema>;
export type Scope = z.infer<typeof ScopeSchema>;

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
    'jobs:read',
    'jobs:write',
    'events:read',
    'events:write',
    'alerts:read',
    'incidents:read',
    'incidents:write',
    'schedules:read',
    'schedules:write',
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
    'jobs:read',
    'events:read',
    'alerts:read',
    'incidents:read',
    'schedules:read',
  ],
};
