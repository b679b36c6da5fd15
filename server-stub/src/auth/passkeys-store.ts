/** The queries on passkeys that other areas share: how many each user has (the User's `passkey_count`). */
import type { AppContext } from '../context';

export async function passkeyCountsByUser(
  context: AppContext,
  userIds: readonly string[],
): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map();
  const rows = await context.db
    .selectFrom('passkeys')
    .select(['user_id', (eb) => eb.fn.countAll<number | string>().as('count')])
    .where('user_id', 'in', [...userIds])
    .groupBy('user_id')
    .execute();
  return new Map(rows.map((row) => [row.user_id, Number(row.count)]));
}
