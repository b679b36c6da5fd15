/** Reading roles and turning rows into the API's `RoleDefinition`. */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { RoleDefinition } from '../generated/contract.gen';
import { problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { RoleRow } from '../store/schema';
import { scopesOfRole } from './role-bindings';
import type { Role } from './roles';

export type ApiRole = z.infer<typeof RoleDefinition>;

/** What the built-in roles are for (their scopes are ROLE_SCOPES). */
const BUILT_IN_DESCRIPTIONS: Record<Role, string> = {
  admin: 'Everything, on every site: users, roles, settings, integrations, the audit log.',
  operator: 'Runs the fleet of its sites: devices, enrolment, commands, jobs, schedules, incidents.',
  viewer: 'Reads the fleet of its sites: devices, enrolment, commands, jobs, schedules, events, incidents.',
};

async function userCounts(context: AppContext, roleIds: string[]): Promise<Map<string, number>> {
  if (roleIds.length === 0) return new Map();
  const rows = await context.db
    .selectFrom('role_bindings')
    .select(['role_id', (eb) => eb.fn.countAll<string | number>().as('users')])
    .where('role_id', 'in', roleIds)
    .groupBy('role_id')
    .execute();
  return new Map(rows.map((row) => [row.role_id, Number(row.users)]));
}

/** Roles as the API shows them, with how many users hold each (one query for all of them). */
export async function presentRoles(context: AppContext, rows: RoleRow[]): Promise<ApiRole[]> {
  const counts = await userCounts(
    context,
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    description: row.built_in === 1 ? BUILT_IN_DESCRIPTIONS[row.name as Role] : row.description,
    scopes: [...scopesOfRole(row)],
    require_mfa: row.require_mfa === 1,
    built_in: row.built_in === 1,
    user_count: counts.get(row.id) ?? 0,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
}

export async function presentRole(context: AppContext, row: RoleRow): Promise<ApiRole> {
  const [role] = await presentRoles(context, [row]);
  return role!;
}

export function findRole(context: AppContext, id: string): Promise<RoleRow> {
  return oneOrNotFound(context.db.selectFrom('roles').selectAll().where('id', '=', id), 'role', id);
}

/** Built-in roles are listed, never changed: `409 role_built_in`. */
export function refuseBuiltIn(row: RoleRow, what: string): void {
  if (row.built_in === 1)
    throw problems.conflict(
      'role_built_in',
      `${row.name} is a built-in role and cannot be ${what}; create a custom role instead.`,
    );
}

/** Role names are unique, the built-in ones included: `409 role_name_taken`. */
export async function assertNameFree(context: AppContext, name: string, exceptId?: string): Promise<void> {
  const taken = await context.db
    .selectFrom('roles')
    .select('id')
    .where('name', '=', name)
    .$if(exceptId !== undefined, (qb) => qb.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (taken) throw problems.nameTaken('role_name_taken', 'role', name);
}
