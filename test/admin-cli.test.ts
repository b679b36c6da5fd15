/**
 * `npm run admin -- reset-password <username>`, run as the server's owner runs it: a separate
 * process with the server's configuration (here MERIDIAN_DB, the SQLite file the running server
 * uses), printing a one-time reset token that works through the API and lifting the lockout.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { login, resetPasswordWithToken } from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember } from './support/world';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'meridian-admin-'));
const database = join(dir, 'meridian.sqlite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const t = useTestServer({ database, lockout: { threshold: 2 } });

function admin(...args: string[]) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, MERIDIAN_DB: database, NODE_ENV: 'test' };
  return promisify(execFile)('npm', ['run', '--silent', 'admin', '--', ...args], { cwd: ROOT, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('npm run admin -- reset-password', () => {
  it('prints a one-time reset token for the user and lifts the lockout', async () => {
    const member = await addMember(t, 'admin', []);
    const signIn = (password: string) =>
      login({ client: t.client(), body: { username: member.user.username, password } });
    for (let i = 0; i < 2; i++) await signIn('wrong-password');
    expectProblem(await signIn(member.password), 401, 'account_locked');

    const run = await admin('reset-password', member.user.username.toUpperCase());
    expect(run.code, run.stderr).toBe(0);
    const token = /\bmpr_[A-Za-z0-9_-]{43}\b/.exec(run.stdout)?.[0];
    expect(token, run.stdout).toBeDefined();
    ok(await signIn(member.password)); // no longer locked

    const newPassword = 'owner-is-back-in-charge';
    const reset = await resetPasswordWithToken({
      client: t.client(),
      body: { token: token!, new_password: newPassword },
    });
    expect(reset.response.status).toBe(204);
    ok(await signIn(newPassword));
    expectProblem(
      await resetPasswordWithToken({
        client: t.client(),
        body: { token: token!, new_password: newPassword },
      }),
      422,
      'invalid_reset_token',
    );
  });

  it('fails for a username no one has, and without a command', async () => {
    const unknown = await admin('reset-password', 'nobody-by-this-name');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No user is named nobody-by-this-name.');
    const usage = await admin();
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run admin -- reset-password <username>');
  });
});
