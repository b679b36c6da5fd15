/**
 * `npm run admin -- <command>`: what the owner of a server does on the machine itself, talking to
 * the database directly with the server's own configuration (the same environment as `npm start`),
 * whether or not the server is running.
 *
 *   reset-password <username>   prints a one-time password reset token for the user (valid for an
 *                               hour) and ends any lockout: for an owner locked out of every account.
 */
import { clearFailures } from '../auth/lockout';
import { DEFAULT_RESET_TOKEN_MINUTES, issueResetToken } from '../auth/password-reset';
import { ConfigError, readConfig, serverOptions } from '../config';
import { migrateToLatest, openDatabase } from '../store/database';

const USAGE = 'usage: npm run admin -- reset-password <username>';

async function resetPassword(username: string): Promise<number> {
  const options = serverOptions(readConfig());
  const { db } = openDatabase(options.database);
  try {
    await migrateToLatest(db);
    const user = await db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('username', '=', username.toLowerCase())
      .executeTakeFirst();
    if (!user) {
      console.error(`No user is named ${username}.`);
      return 1;
    }
    const issued = await issueResetToken(db, new Date(), { userId: user.id, createdBy: null });
    await clearFailures({ db }, user.username);
    const url = `http://localhost:${options.port ?? 8080}`;
    console.log(`A password reset token for ${user.username}, good once within ${DEFAULT_RESET_TOKEN_MINUTES} minutes:

  ${issued.token}

Set a new password with it (the user's sessions end, any lockout is lifted):

  curl -X POST ${url}/v1/auth/password-reset -H 'Content-Type: application/json' \\
    -d '{"token":"${issued.token}","new_password":"<a new password of 12 characters or more>"}'`);
    return 0;
  } finally {
    await db.destroy();
  }
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'reset-password' && rest.length === 1) return resetPassword(rest[0]!);
  console.error(USAGE);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
