/**
 * The SDK README's snippets are the files in examples/sdk/. Each ```ts block of sdk/README.md
 * must be exactly the `// readme:start` … `// readme:end` region of the example named in the
 * comment above it, and every example must be shown. Then every example runs as a user would
 * run it (a separate process configured by environment) against a fresh in-memory server, and
 * both its output and what it did to the server are checked.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { Meridian, type Device, type Site } from '@meridian/sdk';
import { checkedFetch } from '../test/support/checked-fetch';
import { ADMIN } from '../test/support/server';
import { useTestServer } from '../test/support/use-test-server';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const README = readFileSync(new URL('../sdk/README.md', import.meta.url), 'utf8');
const EXAMPLE_DIR = 'examples/sdk';
const files = readdirSync(new URL('./sdk/', import.meta.url))
  .filter((name) => name.endsWith('.ts'))
  .sort();

// ---------------------------------------------------------------------------------------------
// The README and the files

/** Code blocks whose language must come from a tested example. */
const TESTED_LANGUAGES = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'mjs', 'cjs']);
const EXAMPLE_COMMENT = /^<!-- example: (\S+) -->$/;
const START = '// readme:start';
const END = '// readme:end';

interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** The path in the `<!-- example: … -->` line right above the fence, if there is one. */
  example: string | undefined;
}

function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end]!)) end++;
    const comment = EXAMPLE_COMMENT.exec(lines[i - 1]?.trim() ?? '');
    blocks.push({
      line: i + 1,
      lang: open[2]!.toLowerCase(),
      code: lines.slice(i + 1, end).join('\n'),
      example: comment?.[1],
    });
    i = end;
  }
  return blocks;
}

/** The README part of an example: the lines between its one start marker and its one end marker. */
function regionOf(source: string): string {
  const lines = source.split(/\r?\n/);
  const starts = lines.flatMap((line, index) => (line.trim() === START ? [index] : []));
  const ends = lines.flatMap((line, index) => (line.trim() === END ? [index] : []));
  if (starts.length !== 1 || ends.length !== 1) {
    throw new Error(
      `needs exactly one "${START}" and one "${END}" line (found ${starts.length} and ${ends.length})`,
    );
  }
  if (ends[0]! < starts[0]!) throw new Error(`"${END}" comes before "${START}"`);
  const region = lines
    .slice(starts[0]! + 1, ends[0]!)
    .join('\n')
    .trim();
  if (region === '') throw new Error('the region is empty');
  return region;
}

/** Everything wrong with the README's code blocks; `read` gives a file's text by its path from the root. */
function readmeProblems(markdown: string, read: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  const blocks = codeBlocks(markdown);
  markdown.split(/\r?\n/).forEach((line, index) => {
    if (EXAMPLE_COMMENT.test(line.trim()) && !blocks.some((block) => block.line === index + 2)) {
      problems.push(`line ${index + 1}: an example comment that is not right above a code block`);
    }
  });
  for (const block of blocks) {
    const where = `line ${block.line}`;
    if (!TESTED_LANGUAGES.has(block.lang)) {
      if (block.example)
        problems.push(`${where}: ${block.example} is shown in a "${block.lang || 'plain'}" block, not ts`);
      continue;
    }
    if (!block.example) {
      problems.push(
        `${where}: a ${block.lang} block without "<!-- example: ${EXAMPLE_DIR}/<file>.ts -->" right above it`,
      );
      continue;
    }
    if (!new RegExp(`^${EXAMPLE_DIR}/[\\w.-]+\\.ts$`).test(block.example)) {
      problems.push(`${where}: ${block.example} is not a file of ${EXAMPLE_DIR}/`);
      continue;
    }
    const source = read(block.example);
    if (source === undefined) {
      problems.push(`${where}: ${block.example} does not exist`);
      continue;
    }
    let region: string;
    try {
      region = regionOf(source);
    } catch (error) {
      problems.push(`${where}: ${block.example} ${(error as Error).message}`);
      continue;
    }
    const shown = block.code.trim();
    if (shown !== region) {
      const shownLines = shown.split('\n');
      const regionLines = region.split('\n');
      const at = shownLines.findIndex((line, index) => line !== regionLines[index]);
      const differing = at === -1 ? shownLines.length : at;
      problems.push(
        `${where}: differs from the region of ${block.example} at its line ${differing + 1}:\n` +
          `    README: ${shownLines[differing] ?? '(ends)'}\n    file:   ${regionLines[differing] ?? '(ends)'}`,
      );
    }
  }
  return problems;
}

const readFromRoot = (path: string): string | undefined => {
  const file = `${ROOT}/${path}`;
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
};

describe('sdk/README.md shows the examples', () => {
  it('finds every problem it looks for (checked on a made-up README)', () => {
    const example = `setup\n${START}\nconst a = 1;\n${END}\nteardown\n`;
    const read = (path: string) =>
      ({ 'examples/sdk/a.ts': example, 'examples/sdk/none.ts': 'no markers' })[path];
    const fence = '```';
    const markdown = [
      '<!-- example: examples/sdk/a.ts -->',
      `${fence}ts`,
      'const a = 1;',
      fence, // fine
      `${fence}ts`,
      'const b = 2;',
      fence, // no comment
      '<!-- example: examples/sdk/a.ts -->',
      `${fence}ts`,
      'const a = 2;',
      fence, // differs
      '<!-- example: examples/sdk/missing.ts -->',
      `${fence}ts`,
      'x',
      fence, // no such file
      '<!-- example: examples/sdk/none.ts -->',
      `${fence}typescript`,
      'x',
      fence, // no markers
      '<!-- example: examples/sdk/a.ts -->',
      '',
      `${fence}ts`,
      'const a = 1;',
      fence, // comment not right above
      '<!-- example: examples/sdk/a.ts -->',
      `${fence}sh`,
      'npm test',
      fence, // not a ts block
      `${fence}sh`,
      'npm install',
      fence, // fine
    ].join('\n');
    expect(readmeProblems(markdown, read)).toEqual([
      expect.stringMatching(/^line 20: an example comment that is not right above/),
      expect.stringMatching(/^line 5: a ts block without/),
      expect.stringMatching(
        /^line 9: differs from the region of examples\/sdk\/a\.ts at its line 1:\n {4}README: const a = 2;\n {4}file: {3}const a = 1;$/,
      ),
      expect.stringMatching(/^line 13: examples\/sdk\/missing\.ts does not exist/),
      expect.stringMatching(/^line 17: examples\/sdk\/none\.ts needs exactly one/),
      expect.stringMatching(/^line 22: a ts block without/),
      expect.stringMatching(/^line 26: examples\/sdk\/a\.ts is shown in a "sh" block/),
    ]);
  });

  it('has every TypeScript block as the region of the example named above it', () => {
    expect(readmeProblems(README, readFromRoot)).toEqual([]);
    expect(codeBlocks(README).filter((block) => block.lang === 'ts').length).toBeGreaterThanOrEqual(
      files.length,
    );
  });

  it('shows every file of examples/sdk/', () => {
    const shown = new Set(codeBlocks(README).flatMap((block) => (block.example ? [block.example] : [])));
    expect(files.filter((file) => !shown.has(`${EXAMPLE_DIR}/${file}`))).toEqual([]);
  });

  it.each(files)('%s marks one region for the README', (file) => {
    expect(() => regionOf(readFileSync(new URL(`./sdk/${file}`, import.meta.url), 'utf8'))).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Running them

const run = promisify(execFile);

const t = useTestServer();
let admin: Meridian;
let lisbon: Site;
let lisbonDevices: Device[];
let readOnlyToken: string;

beforeAll(async () => {
  admin = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch, logLevel: 'off' });
  lisbon = await admin.sites.create({ name: 'Lisbon office' });
  await admin.sites.create({ name: 'Faro depot' });
  lisbonDevices = [];
  for (const [name, platform] of [
    ['kiosk-1', 'windows'],
    ['kiosk-2', 'linux'],
    ['kiosk-3', 'macos'],
  ] as const) {
    lisbonDevices.push((await admin.devices.register({ name, site_id: lisbon.id, platform })).device);
  }
  readOnlyToken = (
    await admin.apiTokens.create({ name: 'examples: sign-in', scopes: ['devices:read', 'sites:read'] })
  ).token;
});

interface Result {
  stdout: string;
  stderr: string;
}

/** Runs an example the way its header says, with the server's URL and the admin's token unless told otherwise. */
async function runExample(
  file: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Result> {
  const options = {
    cwd: ROOT,
    timeout: 20_000,
    env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken, ...env },
  };
  try {
    const { stdout, stderr } = await run(TSX, [`${EXAMPLE_DIR}/${file}`, ...args], options);
    return { stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    throw new Error(
      `${file} failed (exit ${String(failed.code)})\n--- stdout\n${failed.stdout ?? ''}\n--- stderr\n${failed.stderr ?? ''}`,
    );
  }
}

const withPassword = { MERIDIAN_USERNAME: ADMIN.username, MERIDIAN_PASSWORD: ADMIN.password };
const everyDevice = () => admin.devices.list({ limit: 100 }).toArray({ limit: Infinity });
const sitesNamed = async (name: string) =>
  (await admin.sites.list({ q: name }).toArray({ limit: 10 })).filter((site) => site.name === name);

/** Per example: run it (with the data it needs) and check its output and its effect. */
const expectations: Record<string, () => Promise<void>> = {
  'browser-session.ts': async () => {
    const { stdout, stderr } = await runExample('browser-session.ts', ['Porto office'], {
      ...withPassword,
      MERIDIAN_TOKEN: '',
    });
    const created =
      /^signed in as root \(session\)\ncreated Porto office \((site_\w+)\)\ncookies left: 0\n$/.exec(stdout);
    expect(created, stdout).not.toBeNull();
    expect((await sitesNamed('Porto office')).map((site) => site.id)).toEqual([created![1]]);
    expect(stderr).toBe('');
  },

  'errors.ts': async () => {
    const before = {
      sites: (await admin.sites.list({ limit: 100 }).toArray({ limit: Infinity })).length,
      devices: (await everyDevice()).length,
    };
    const { stdout, stderr } = await runExample('errors.ts');
    expect(stdout).toMatch(
      /^not found: No device dev_01JD2M7T4X9K3QH5W8N6R2B4CZ exists, or you cannot see it\. \(request req_\w+\)\n/,
    );
    expect(stdout).toMatch(/^invalid \/body\/name: .+$/m);
    expect(stdout).toMatch(
      /^UnprocessableEntityError: 422 unknown_site: No site site_01JC0A1B2C3D4E5F6G7H8J9K0M exists, or you cannot see it\.\n$/m,
    );
    expect(stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(stderr).toBe('');
    const after = {
      sites: (await admin.sites.list({ limit: 100 }).toArray({ limit: Infinity })).length,
      devices: (await everyDevice()).length,
    };
    expect(after).toEqual(before);
  },

  'files.ts': async () => {
    const release = await admin.agentReleases.create({ version: '3.2.1' });
    const directory = await mkdtemp(join(tmpdir(), 'meridian-files-'));
    try {
      const bytes = randomBytes(100_000);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(directory, 'build'), bytes);
      const copy = join(directory, 'copy');
      const { stdout, stderr } = await runExample('files.ts', [release.id, join(directory, 'build'), copy]);
      expect(stdout).toBe(`100000 bytes up twice; "sha256-${sha256}" down into ${copy}\n`);
      expect((await readFile(copy)).equals(bytes)).toBe(true);
      expect(
        (await admin.agentReleases.get(release.id)).artifacts.map((a) => [a.platform, a.sha256]),
      ).toEqual([
        ['linux-amd64', sha256],
        ['linux-arm64', sha256],
      ]);
      expect(stderr).toBe('');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  },

  'hooks-and-logging.ts': async () => {
    const { stdout, stderr } = await runExample('hooks-and-logging.ts');
    expect(stdout).toMatch(/^\[meridian\] → GET \/v1\/sites \{/);
    expect(stdout).toContain(`url: '${t.url}/v1/sites?limit=1'`);
    expect(stdout).toContain("authorization: '[redacted]'");
    expect(stdout).not.toContain(t.adminToken);
    const traced = /^GET \/v1\/sites → 200 \(trace ([0-9a-f-]{36})\)$/m.exec(stdout);
    expect(traced, stdout).not.toBeNull();
    expect(stdout).toContain(`'x-trace-id': '${traced![1]}'`); // the debug log shows the request as onRequest left it
    expect(stdout).toMatch(/^\[meridian\] ← 200 GET \/v1\/sites in \d+ ms \{\n {2}requestId: 'req_\w+'/m);
    expect(stdout).toMatch(/\n1 request\(s\) sent\n$/);
    expect(stderr).toBe('');
  },

  'idempotency.ts': async () => {
    const first = await runExample('idempotency.ts');
    const again = await runExample('idempotency.ts');
    const onboarded = /^Braga warehouse \((site_\w+)\) with Dock scanner \((dev_\w+)\)\n$/.exec(first.stdout);
    expect(onboarded, first.stdout).not.toBeNull();
    expect(again.stdout).toBe(`${first.stdout.trimEnd()}, replayed\n`);
    expect(first.stderr + again.stderr).toBe('');
    expect((await sitesNamed('Braga warehouse')).map((site) => site.id)).toEqual([onboarded![1]]);
    const devices = await admin.devices.list({ site_id: onboarded![1] }).toArray({ limit: 10 });
    expect(devices.map((device) => `${device.id} ${device.name}`)).toEqual([`${onboarded![2]} Dock scanner`]);
  },

  'pagination.ts': async () => {
    const devices = await everyDevice();
    const byStatus = new Map<string, number>();
    for (const device of devices) byStatus.set(device.status, (byStatus.get(device.status) ?? 0) + 1);
    const sites = await admin.sites.list({ limit: 100 }).toArray({ limit: Infinity });
    const pages: string[] = [];
    for (let i = 0; i < sites.length; i += 2)
      pages.push(
        `page ${i / 2 + 1}: ${sites
          .slice(i, i + 2)
          .map((site) => site.name)
          .join(', ')}`,
      );
    const pending = devices.filter((device) => device.status === 'pending');
    expect(sites.length).toBeGreaterThan(2); // more than one page
    const { stdout, stderr } = await runExample('pagination.ts');
    expect(stdout).toBe(
      [
        `devices: ${[...byStatus].map(([status, n]) => `${n} ${status}`).join(', ')}`,
        ...pages,
        `${pending.length} pending, the oldest: ${pending[0]?.name ?? 'none'}`,
        '',
      ].join('\n'),
    );
    expect(stderr).toBe('');
  },

  'quick-start.ts': async () => {
    const devices = await everyDevice();
    expect(devices.length).toBeGreaterThanOrEqual(lisbonDevices.length);
    const { stdout, stderr } = await runExample('quick-start.ts');
    expect(stdout).toBe(
      ['Signed in as root.', ...devices.map((d) => `${d.name} (${d.platform}): ${d.status}`), ''].join('\n'),
    );
    expect(stderr).toBe('');
  },

  'raw-request.ts': async () => {
    const [first] = await admin.devices.list({ limit: 1 }).toArray({ limit: 1 });
    const { version } = await admin.meta.getVersion();
    const { stdout, stderr } = await runExample('raw-request.ts');
    expect(stdout).toMatch(
      new RegExp(
        `^Meridian ${version.replaceAll('.', '\\.')}: HTTP 200 application/json; charset=utf-8, request req_\\w+\\n`,
      ),
    );
    expect(stdout.split('\n').slice(1).join('\n')).toBe(`${first!.id}: ${first!.name}\n`);
    expect(stderr).toBe('');
  },

  'retries.ts': async () => {
    const { stdout, stderr } = await runExample('retries.ts', [lisbon.id]);
    expect(stdout).toMatch(
      /^\[meridian\] POST \/v1\/devices failed \(APIConnectionError\); retry 1 of 4 in \d+ ms/,
    );
    const registered = /^registered Lobby kiosk \((dev_\w+)\), replayed: true\nserver: ok\n$/m.exec(stdout);
    expect(registered, stdout).not.toBeNull();
    expect(stderr).toBe('');
    // The lost answer was retried with the same key: the device exists once.
    const kiosks = (await admin.devices.list({ site_id: lisbon.id }).toArray({ limit: 100 })).filter(
      (device) => device.name === 'Lobby kiosk',
    );
    expect(kiosks.map((device) => device.id)).toEqual([registered![1]]);
  },

  'sign-in.ts': async () => {
    const { stdout, stderr } = await runExample('sign-in.ts', [], {
      ...withPassword,
      MERIDIAN_TOKEN: readOnlyToken,
    });
    const lines =
      /^root via api_token, scopes: devices:read sites:read\nroot via session until (\S+)\n$/.exec(stdout);
    expect(lines, stdout).not.toBeNull();
    expect(Date.parse(lines![1]!)).toBeGreaterThan(Date.now());
    expect(stderr).toBe('');
  },

  'timeouts.ts': async () => {
    const onFirstPage = Math.min(100, (await everyDevice()).length);
    const { stdout, stderr } = await runExample('timeouts.ts');
    expect(stdout).toBe(
      'timed out: GET /v1/devices timed out after 500 ms; raise the `timeout` option (per client or per call) if the server is slow.\n' +
        'cancelled: the user closed the dialog\n' +
        `${onFirstPage} device(s) on the first page, in time\n`,
    );
    expect(stderr).toBe('');
  },

  'update-with-etag.ts': async () => {
    const { device } = await admin.devices.register({
      name: 'Unlabelled kiosk',
      site_id: lisbon.id,
      platform: 'other',
    });
    const { stdout, stderr } = await runExample('update-with-etag.ts', [device.id, 'Kiosk by the stairs']);
    expect(stdout).toBe('Unlabelled kiosk is now Kiosk by the stairs\n');
    expect(stderr).toBe('');
    expect((await admin.devices.get(device.id)).name).toBe('Kiosk by the stairs');
  },

  'webhooks.ts': async () => {
    const secret = `whsec_${Buffer.from('a webhook secret for the examples test').toString('base64')}`;
    const { stdout, stderr } = await runExample('webhooks.ts', [], { MERIDIAN_WEBHOOK_SECRET: secret });
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      /^received device\.offline \(msg_[0-9a-f]{32}\): \{"device_id":"dev_01JD2M7T4X9K3QH5W8N6R2B4CZ"\}$/,
    );
    expect(lines[1]).toBe('signed event: HTTP 204');
    expect(lines[2]).toMatch(
      /^refused: No signature in webhook-signature matches\. Usual causes: the body was parsed/,
    );
    expect(lines[3]).toBe('altered event: HTTP 400');
    expect(stderr).toBe('');
  },
};

describe('the examples run against a fresh server', () => {
  it('has expectations for exactly the files of examples/sdk/', () => {
    expect(Object.keys(expectations).sort()).toEqual(files);
  });

  it.each(files)('%s', async (file) => {
    const check = expectations[file];
    if (!check) throw new Error(`no expectations for examples/sdk/${file}: add them to examples/sdk.test.ts`);
    await check();
  });
});
