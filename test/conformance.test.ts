/**
 * The conformance runner (`npm run conformance`, mocks/src/conformance) run from its command line
 * against a freshly started server: read-only it passes and writes nothing; with a token lacking
 * scopes it checks the 403s; with --allow-writes it passes and leaves no scratch site behind. In
 * front of a server that breaks the spec in one answer (a proxy that rewrites it) it fails that
 * check, with exit code 1 and the failure in both reports, and still removes its scratch site.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiToken, listDevices, listSites } from '@meridian/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceReport } from '../mocks/src/conformance/runner';
import { repoPath } from '../scripts/lib/paths';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';
import { specOperations } from './support/spec';
import { useTestServer } from './support/use-test-server';

const t = useTestServer();
/** One run of the runner: a child process checking a few hundred requests on a shared machine. */
const RUN_TIMEOUT = 180_000;
let reports: string;
beforeAll(() => {
  reports = mkdtempSync(join(tmpdir(), 'meridian-conformance-'));
});
afterAll(() => rmSync(reports, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  report: ConformanceReport;
  junit: string;
}

let runs = 0;
/** `npm run conformance -- --url … --token … <extra>`, with both reports read back. */
function conformance(url: string, token: string, extra: string[] = []): Promise<Run> {
  const name = `run-${++runs}`;
  const json = join(reports, `${name}.json`);
  const junit = join(reports, `${name}.xml`);
  const args = ['run', '--silent', 'conformance', '--', '--url', url, '--token', token];
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      [...args, '--report-json', json, '--junit', junit, ...extra],
      { cwd: repoPath('.'), maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        try {
          resolve({
            code,
            stdout,
            report: JSON.parse(readFileSync(json, 'utf8')) as ConformanceReport,
            junit: readFileSync(junit, 'utf8'),
          });
        } catch (cause) {
          reject(new Error(`conformance exited ${code} without its reports:\n${stdout}${stderr}`, { cause }));
        }
      },
    );
  });
}

const failures = (report: ConformanceReport) =>
  report.checks.filter((check) => check.outcome === 'failed').map((c) => `${c.operationId}: ${c.messages}`);
const outcomeOf = (report: ConformanceReport, operationId: string, name: string) =>
  report.checks.find((check) => check.operationId === operationId && check.name === name)?.outcome;

/** The JUnit report's totals, which must agree with the JSON report's. */
function junitCounts(xml: string) {
  const suites = /<testsuites [^>]*tests="(\d+)" failures="(\d+)" errors="0" skipped="(\d+)"/.exec(xml);
  expect(suites, xml.slice(0, 500)).not.toBeNull();
  const [, tests, failed, skipped] = suites!.map(Number);
  return {
    tests,
    failed,
    skipped,
    cases: xml.match(/<testcase /g)?.length,
    failures: xml.match(/<failure /g)?.length ?? 0,
  };
}

const scratchSites = async () =>
  ok(await listSites({ client: t.admin, query: { q: 'Conformance scratch', limit: 100 } })).data;

describe('the conformance runner', () => {
  it(
    'passes read-only against the reference server, checking every GET operation, and writes nothing',
    async () => {
      const before = await snapshot(t);
      const { code, stdout, report, junit } = await conformance(t.url, t.adminToken);
      expect(failures(report)).toEqual([]);
      expect(code, stdout).toBe(0);
      expect(await snapshot(t)).toBe(before);
      expect(report.allowWrites).toBe(false);
      const checked = new Set(report.checks.map((check) => check.operationId));
      const gets = specOperations.filter((op) => op.method === 'GET').map((op) => op.operationId);
      expect([...checked].sort()).toEqual([...gets].sort());
      // Each kind of check ran: valid requests, credentials and bad input.
      expect(outcomeOf(report, 'listSites', 'answers a valid request')).toBe('passed');
      expect(outcomeOf(report, 'listDevices', 'is 401 without credentials')).toBe('passed');
      expect(outcomeOf(report, 'listDevices', 'is 401 with an unknown token')).toBe('passed');
      expect(outcomeOf(report, 'listDevices', 'refuses an unknown query parameter with 400')).toBe('passed');
      expect(
        outcomeOf(report, 'listDevices', 'refuses a value outside the enum in query status with 400'),
      ).toBe('passed');
      expect(junitCounts(junit)).toEqual({
        tests: report.summary.total,
        failed: 0,
        skipped: report.summary.skipped,
        cases: report.summary.total,
        failures: 0,
      });
    },
    RUN_TIMEOUT,
  );

  it(
    'checks 403 for the operations a token lacks the scope of',
    async () => {
      const narrow = ok(
        await createApiToken({
          client: t.admin,
          body: { name: 'conformance-narrow', scopes: ['sites:read'] },
        }),
      ).token;
      const { code, stdout, report } = await conformance(t.url, narrow);
      expect(failures(report)).toEqual([]);
      expect(code, stdout).toBe(0);
      expect(outcomeOf(report, 'listSites', 'answers a valid request')).toBe('passed');
      expect(outcomeOf(report, 'listDevices', 'is 403 without its scope (devices:read)')).toBe('passed');
    },
    RUN_TIMEOUT,
  );

  it(
    'with --allow-writes passes, writing only in a scratch site that it removes',
    async () => {
      const { code, stdout, report, junit } = await conformance(t.url, t.adminToken, ['--allow-writes']);
      expect(failures(report)).toEqual([]);
      expect(code, stdout).toBe(0);
      expect(report.allowWrites).toBe(true);
      for (const operationId of ['createSite', 'registerDevice', 'createEnrollmentCode'])
        expect(outcomeOf(report, operationId, 'creates in the scratch site'), operationId).toBe('passed');
      expect(outcomeOf(report, 'updateSite', 'answers a valid request')).toBe('passed');
      expect(outcomeOf(report, 'registerDevice', 'refuses malformed JSON with 400')).toBe('passed');
      expect(outcomeOf(report, 'registerDevice', 'is 401 without credentials')).toBe('passed');
      expect(outcomeOf(report, 'updateSite', 'refuses a body that is not application/json with 415')).toBe(
        'passed',
      );
      expect(outcomeOf(report, 'deleteSite', 'removes the scratch site and its devices')).toBe('passed');
      expect(junitCounts(junit).failures).toBe(0);
      expect(await scratchSites()).toEqual([]);
      expect(
        ok(await listDevices({ client: t.admin, query: { q: 'conformance', limit: 100 } })).data,
      ).toEqual([]);
    },
    RUN_TIMEOUT,
  );

  it('exits 2 with its usage when --url or the token is missing, checking nothing', async () => {
    const env = { ...process.env, MERIDIAN_TOKEN: '' };
    const result = await new Promise<{ code: unknown; stderr: string }>((resolve) =>
      execFile(
        'npm',
        ['run', '--silent', 'conformance', '--', '--token', 'x'],
        { cwd: repoPath('.'), env },
        (error, _out, stderr) => resolve({ code: error?.code, stderr }),
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--url and --token \(or MERIDIAN_TOKEN\) are required/);
    expect(result.stderr).toMatch(/^Usage: meridian-conformance/m);
  });
});

describe('against a server that breaks the spec', () => {
  let proxy: Server;
  let proxyUrl: string;
  /** The answer the proxy puts in place of the server's for a request, if any. */
  let rewrite: (
    request: IncomingMessage,
  ) => { status: number; type: string; body: string; headers?: Record<string, string> } | undefined;
  beforeAll(async () => {
    // Streams both ways (the event stream stays open until the runner lets go of it).
    proxy = createServer((incoming, outgoing) => {
      const forward = request(`${t.url}${incoming.url}`, {
        method: incoming.method,
        headers: incoming.headers,
      });
      forward.on('response', (upstream) => {
        const broken = rewrite(incoming);
        if (!broken) {
          outgoing.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(outgoing);
          return;
        }
        upstream.resume();
        const { 'content-length': _length, ...headers } = upstream.headers;
        outgoing
          .writeHead(broken.status, { ...headers, ...broken.headers, 'content-type': broken.type })
          .end(broken.body);
      });
      forward.on('error', () => outgoing.destroy());
      outgoing.on('close', () => forward.destroy());
      incoming.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  it(
    'fails the check of the one operation whose answer violates the spec, in both reports',
    async () => {
      // The valid GET /v1/version (not the bad or unauthenticated ones) without its required fields.
      rewrite = ({ method, url, headers }) =>
        method === 'GET' && url === '/v1/version' && headers.authorization === `Bearer ${t.adminToken}`
          ? { status: 200, type: 'application/json', body: '{"version":42}' }
          : undefined;
      const { code, report, junit } = await conformance(proxyUrl, t.adminToken);
      expect(failures(report)).toEqual([expect.stringMatching(/^getVersion: /)]);
      expect(code).toBe(1);
      expect(report.summary.failed).toBe(1);
      const [failed] = report.checks.filter((check) => check.outcome === 'failed');
      expect(failed).toMatchObject({ operationId: 'getVersion', name: 'answers a valid request' });
      expect(failed!.messages.join('\n')).toMatch(/GET \/v1\/version → 200: body does not match the schema/);
      expect(junitCounts(junit)).toMatchObject({ failed: 1, failures: 1 });
      expect(junit).toMatch(
        /<testcase classname="getVersion" name="answers a valid request"[^>]*>\s*<failure /,
      );
    },
    RUN_TIMEOUT,
  );

  it(
    'still removes its scratch site when a write check fails',
    async () => {
      // Every PATCH of a site (the scratch site's update, valid or not) answers text.
      rewrite = ({ method, url }) =>
        method === 'PATCH' && url?.startsWith('/v1/sites/')
          ? { status: 200, type: 'text/plain', body: 'ok' }
          : undefined;
      const { code, report } = await conformance(proxyUrl, t.adminToken, ['--allow-writes']);
      expect(code).toBe(1);
      expect(outcomeOf(report, 'updateSite', 'answers a valid request')).toBe('failed');
      expect(outcomeOf(report, 'deleteSite', 'removes the scratch site and its devices')).toBe('passed');
      expect(await scratchSites()).toEqual([]);
    },
    RUN_TIMEOUT,
  );

  it(
    'waits out a 429 for its Retry-After and checks the answer that follows',
    async () => {
      let versionRequests = 0;
      rewrite = ({ method, url, headers }) =>
        method === 'GET' &&
        url === '/v1/version' &&
        headers.authorization === `Bearer ${t.adminToken}` &&
        versionRequests++ === 0
          ? { status: 429, type: 'application/problem+json', body: '{}', headers: { 'retry-after': '1' } }
          : undefined;
      const { code, report } = await conformance(proxyUrl, t.adminToken);
      expect(failures(report)).toEqual([]);
      expect(code).toBe(0);
      expect(versionRequests).toBe(2);
      expect(outcomeOf(report, 'getVersion', 'answers a valid request')).toBe('passed');
    },
    RUN_TIMEOUT,
  );
});
