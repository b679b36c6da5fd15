/**
 * A throwaway OpenLDAP server (Debian's slapd) for directory sign-in tests: a slapd.conf in a
 * temporary folder (mdb database, the memberof overlay so groupOfNames members get `memberOf`,
 * a self-signed certificate for StartTLS), listening on a free port of 127.0.0.1, seeded with
 * ldapadd. `MERIDIAN_TEST_SLAPD` overrides where slapd is (default Debian's /usr/sbin/slapd).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SUFFIX = 'dc=example,dc=com';
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const ADMIN_PASSWORD = 'directory-admin-password';

export interface Slapd {
  url: string;
  /** The PEM of the self-signed certificate slapd offers to StartTLS. */
  certificate: string;
  /** Adds entries (LDIF) as the directory's admin. */
  add(ldif: string): void;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(url: string, process: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (process.exitCode !== null) throw new Error(`slapd exited (${process.exitCode}):\n${log()}`);
    try {
      execFileSync('ldapsearch', ['-x', '-H', url, '-b', '', '-s', 'base', 'namingContexts'], {
        stdio: 'pipe',
      });
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`slapd did not answer at ${url}: ${String(error)}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function startSlapd(): Promise<Slapd> {
  const slapd = process.env.MERIDIAN_TEST_SLAPD ?? '/usr/sbin/slapd';
  if (!existsSync(slapd))
    throw new Error(
      `slapd not found at ${slapd}: install Debian's slapd (see the README) or set MERIDIAN_TEST_SLAPD.`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'meridian-slapd-'));
  mkdirSync(join(dir, 'data'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'pipe' },
  );
  writeFileSync(
    join(dir, 'slapd.conf'),
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'moduleload memberof',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `TLSCertificateFile ${join(dir, 'cert.pem')}`,
      `TLSCertificateKeyFile ${join(dir, 'key.pem')}`,
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "${ADMIN_DN}"`,
      `rootpw ${ADMIN_PASSWORD}`,
      `directory ${join(dir, 'data')}`,
      'overlay memberof',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (so the test owns the process) without debug output.
  const child = spawn(slapd, ['-f', join(dir, 'slapd.conf'), '-h', url, '-d', '0'], { stdio: 'pipe' });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitForPort(url, child, () => output);
  const add = (ldif: string) =>
    execFileSync('ldapadd', ['-x', '-H', url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
      input: ldif,
      stdio: 'pipe',
    });
  add(`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`);
  return {
    url,
    certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    add,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where the people of the directories the sign-in tests seed live. */
export const PEOPLE = `ou=people,${SUFFIX}`;

/** A throwaway slapd holding one person, `uid` with `password`, under PEOPLE. */
export async function startSlapdWithPerson(uid: string, password: string): Promise<Slapd> {
  const slapd = await startSlapd();
  slapd.add(
    [
      `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: Example\nuserPassword: ${password}\n`,
    ].join('\n'),
  );
  return slapd;
}
