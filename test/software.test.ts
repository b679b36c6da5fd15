/**
 * Software on devices, on SQLite and on PostgreSQL: each device's installed software from its
 * inventory with stable IDs and what protects it; uninstalling an entry as an
 * `uninstall_software` command (carrying the installer that detects it, when there is one),
 * refused while the block list or the device's own block protects it and on device types without
 * the command; the block list's CRUD; per-device overrides (exempt from an entry, or blocking
 * more), refused when malformed, and the exemptions deleted with their entry.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createInstaller,
  createSoftwareBlockEntry,
  createSoftwareBlockOverride,
  deleteSoftwareBlockEntry,
  deleteSoftwareBlockOverride,
  getSoftwareBlockEntry,
  type InstalledSoftware,
  listDeviceSoftware,
  listSoftwareBlockEntries,
  listSoftwareBlockOverrides,
  pollAgentCommands,
  registerDevice,
  reportAgentCommandResult,
  type SoftwareBlockOverrideCreate,
  uninstallDeviceSoftware,
  updateSoftwareBlockEntry,
  uploadAgentInventory,
} from '@meridian/sdk';
import { globMatches } from '../server-stub/src/lifecycle/software-block-list';
import { addAgent, type Agent } from './support/agents';
import { usePostgresServer } from './support/postgres';
import { expectProblem } from './support/problem';
import { ok, type TestServer } from './support/server';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

const AGENT: InstalledSoftware = { name: 'Meridian Agent', version: '1.4.0', publisher: 'Meridian' };
const SHOW: InstalledSoftware = {
  name: 'Lobby Show',
  version: '2.0.0',
  publisher: 'Acme',
  installed_on: '2026-10-01',
};
const TOOL: InstalledSoftware = { name: 'Old Tool' };

function softwareSuite(t: TestServer) {
  let agent: Agent;
  let other: Agent;
  let edgeId: string;

  const report = (device: Agent, software: InstalledSoftware[]) =>
    uploadAgentInventory({
      client: device.client,
      body: { hardware: { cpu_model: 'test', cpu_cores: 2, memory_bytes: 1024 }, software, services: [] },
    });
  const installed = async (device = agent) =>
    ok(await listDeviceSoftware({ client: t.admin, path: { device_id: device.deviceId } }));
  const idOf = async (software: InstalledSoftware, device = agent) =>
    (await installed(device)).software.find((entry) => entry.name === software.name)!.id;
  const uninstall = async (software: InstalledSoftware, device = agent) =>
    uninstallDeviceSoftware({
      client: t.admin,
      path: { device_id: device.deviceId, software_id: await idOf(software, device) },
    });
  const block = async (name_pattern: string, extra: { publisher?: string; version?: string } = {}) =>
    ok(
      await createSoftwareBlockEntry({
        client: t.admin,
        body: { name_pattern, reason: `keep ${name_pattern}`, ...extra },
      }),
    );
  const override = (body: SoftwareBlockOverrideCreate, device = agent) =>
    createSoftwareBlockOverride({ client: t.admin, path: { device_id: device.deviceId }, body });

  beforeAll(async () => {
    const site = await addSite(t);
    agent = await addAgent(t, site.id);
    other = await addAgent(t, site.id);
    ok(await report(agent, [AGENT, SHOW, TOOL]));
    ok(await report(other, [AGENT, SHOW]));
    edgeId = ok(
      await registerDevice({
        client: t.admin,
        body: { name: unique('edge'), site_id: site.id, platform: 'linux', device_type: 'edge' },
      }),
    ).device.id;
  });

  describe('the block list', () => {
    it('is created, read, listed, updated and deleted', async () => {
      const created = await createSoftwareBlockEntry({
        client: t.admin,
        body: {
          name_pattern: 'Remote Support*',
          publisher: 'Acme',
          version: '3.1',
          reason: 'Helpdesk needs it',
        },
      });
      expect(created.response.status).toBe(201);
      const entry = ok(created);
      expect(entry).toEqual({
        id: expect.stringMatching(/^sbe_/),
        name_pattern: 'Remote Support*',
        publisher: 'Acme',
        version: '3.1',
        reason: 'Helpdesk needs it',
        created_by: expect.stringMatching(/^usr_/),
        created_at: expect.any(String),
        updated_at: expect.any(String),
      });
      expect(entry.updated_at).toBe(entry.created_at);
      expect(
        ok(await getSoftwareBlockEntry({ client: t.admin, path: { block_entry_id: entry.id } })),
      ).toEqual(entry);
      const listed = ok(await listSoftwareBlockEntries({ client: t.admin, query: { limit: 500 } }));
      expect(listed.data).toContainEqual(entry);

      await t.clock.advance(60_000);
      const updated = ok(
        await updateSoftwareBlockEntry({
          client: t.admin,
          path: { block_entry_id: entry.id },
          body: { version: null, reason: 'Every version' },
        }),
      );
      expect(updated).toEqual({
        ...entry,
        version: null,
        reason: 'Every version',
        updated_at: expect.any(String),
      });
      expect(Date.parse(updated.updated_at) - Date.parse(entry.updated_at)).toBeGreaterThanOrEqual(60_000);

      const deleted = await deleteSoftwareBlockEntry({ client: t.admin, path: { block_entry_id: entry.id } });
      expect(deleted.response.status).toBe(204);
      for (const missing of [
        await getSoftwareBlockEntry({ client: t.admin, path: { block_entry_id: entry.id } }),
        await updateSoftwareBlockEntry({
          client: t.admin,
          path: { block_entry_id: entry.id },
          body: { reason: 'gone' },
        }),
        await deleteSoftwareBlockEntry({ client: t.admin, path: { block_entry_id: entry.id } }),
      ])
        expectProblem(missing, 404, 'not_found');
    });
  });

  describe("a device's software", () => {
    it('lists the inventory with IDs that are the same on every device, and what protects each', async () => {
      const entry = await block('meridian agent*', { publisher: 'MERIDIAN' });
      const mine = await installed();
      expect(mine).toEqual({
        device_id: agent.deviceId,
        reported_at: expect.any(String),
        software: [
          {
            id: expect.stringMatching(/^sw_[0-9A-HJKMNP-TV-Z]{26}$/),
            ...AGENT,
            uninstall_block: { source: 'block_list', id: entry.id, reason: 'keep meridian agent*' },
          },
          { id: expect.stringMatching(/^sw_/), ...SHOW, uninstall_block: null },
          { id: expect.stringMatching(/^sw_/), ...TOOL, uninstall_block: null },
        ],
      });
      const theirs = await installed(other);
      expect(theirs.software.map((software) => software.id)).toEqual(
        mine.software.slice(0, 2).map((software) => software.id),
      );
      ok(await deleteSoftwareBlockEntry({ client: t.admin, path: { block_entry_id: entry.id } }));
    });

    it('is empty before the agent reports its inventory', async () => {
      expect(ok(await listDeviceSoftware({ client: t.admin, path: { device_id: edgeId } }))).toEqual({
        device_id: edgeId,
        reported_at: null,
        software: [],
      });
    });
  });

  describe('uninstalling from the inventory', () => {
    it("sends an uninstall_software command with the entry's name, version and publisher", async () => {
      const sent = await uninstall(TOOL);
      expect(sent.response.status).toBe(202);
      expect(sent.data).toMatchObject({
        device_id: agent.deviceId,
        type: 'uninstall_software',
        params: { name: 'Old Tool' },
        status: 'pending',
        timeout_seconds: 1800,
      });
      const [delivered] = ok(
        await pollAgentCommands({ client: agent.client, query: { wait_seconds: 0, limit: 10 } }),
      ).data;
      expect(delivered).toMatchObject({ id: sent.data!.id, params: { name: 'Old Tool' } });
      expect(Object.keys(delivered!.params)).toEqual(['name']);
      ok(
        await reportAgentCommandResult({
          client: agent.client,
          path: { command_id: delivered!.id },
          body: { status: 'failed', duration_ms: 5, error: 'Old Tool is not installed.' },
        }),
      );
    });

    it('carries the installer that detects the software, and answers 200 once the agent is done', async () => {
      const installer = ok(
        await createInstaller({
          client: t.admin,
          body: {
            name: unique('Lobby Show package'),
            version: '2.0.0',
            platform: 'linux',
            url: 'https://downloads.example.com/lobby-show-2.0.0.sh',
            sha256: 'c'.repeat(64),
            uninstall_arguments: ['--uninstall', '--quiet'],
            detection: { name: 'lobby show', version: '2.0.0' },
          },
        }),
      );
      const waiting = uninstallDeviceSoftware({
        client: t.admin,
        path: { device_id: agent.deviceId, software_id: await idOf(SHOW) },
        query: { wait_seconds: 30 },
      });
      let delivered: { id: string; params: Record<string, unknown> } | undefined;
      await expect
        .poll(async () => {
          [delivered] = ok(
            await pollAgentCommands({ client: agent.client, query: { wait_seconds: 0, limit: 10 } }),
          ).data;
          return delivered !== undefined;
        })
        .toBe(true);
      expect(delivered!.params).toEqual({
        name: 'Lobby Show',
        version: '2.0.0',
        publisher: 'Acme',
        installer_id: installer.id,
        url: installer.url,
        sha256: installer.sha256,
        arguments: ['--uninstall', '--quiet'],
      });
      ok(
        await reportAgentCommandResult({
          client: agent.client,
          path: { command_id: delivered!.id },
          body: { status: 'succeeded', duration_ms: 900, exit_code: 0 },
        }),
      );
      const done = await waiting;
      expect(done.response.status).toBe(200);
      expect(done.data).toMatchObject({ id: delivered!.id, status: 'succeeded' });
    });

    it('is refused while the block list protects the software, unless the device is exempt', async () => {
      const entry = await block('Meridian*', { version: '1.4.0' });
      const before = await snapshot(t);
      const refused = await uninstall(AGENT);
      expectProblem(refused, 409, 'software_uninstall_blocked');
      expect((refused.error as { detail: string }).detail).toBe(
        `Meridian Agent 1.4.0 must not be uninstalled (block list entry ${entry.id}): keep Meridian*`,
      );
      expect(await snapshot(t)).toBe(before);

      const exemption = ok(
        await override({ effect: 'exempt', block_entry_id: entry.id, reason: 'Being decommissioned' }),
      );
      expect(exemption).toEqual({
        id: expect.stringMatching(/^sbo_/),
        device_id: agent.deviceId,
        effect: 'exempt',
        block_entry_id: entry.id,
        name_pattern: null,
        publisher: null,
        version: null,
        reason: 'Being decommissioned',
        created_by: expect.stringMatching(/^usr_/),
        created_at: expect.any(String),
      });
      expect((await uninstall(AGENT)).response.status).toBe(202);
      // The other device is not exempt.
      expectProblem(await uninstall(AGENT, other), 409, 'software_uninstall_blocked');

      ok(
        await deleteSoftwareBlockOverride({
          client: t.admin,
          path: { device_id: agent.deviceId, override_id: exemption.id },
        }),
      );
      expectProblem(await uninstall(AGENT), 409, 'software_uninstall_blocked');

      // Deleting the entry deletes the exemptions from it.
      ok(await override({ effect: 'exempt', block_entry_id: entry.id, reason: 'again' }));
      ok(await deleteSoftwareBlockEntry({ client: t.admin, path: { block_entry_id: entry.id } }));
      expect(
        ok(await listSoftwareBlockOverrides({ client: t.admin, path: { device_id: agent.deviceId } })).data,
      ).toEqual([]);
      expect((await uninstall(AGENT, other)).response.status).toBe(202);
    });

    it("is refused by a device's own block, on that device only", async () => {
      const own = ok(
        await override({
          effect: 'block',
          name_pattern: 'lobby ?how',
          publisher: 'acme',
          reason: 'The show runs',
        }),
      );
      expect(own).toMatchObject({ effect: 'block', block_entry_id: null, name_pattern: 'lobby ?how' });
      expect(
        (await installed()).software.find((entry) => entry.name === 'Lobby Show')!.uninstall_block,
      ).toEqual({
        source: 'device_override',
        id: own.id,
        reason: 'The show runs',
      });
      const refused = await uninstall(SHOW);
      expectProblem(refused, 409, 'software_uninstall_blocked');
      expect((refused.error as { detail: string }).detail).toBe(
        `Lobby Show 2.0.0 must not be uninstalled (device override ${own.id}): The show runs`,
      );
      expect((await uninstall(SHOW, other)).response.status).toBe(202);
      expect(
        ok(await listSoftwareBlockOverrides({ client: t.admin, path: { device_id: agent.deviceId } })).data,
      ).toEqual([own]);
      ok(
        await deleteSoftwareBlockOverride({
          client: t.admin,
          path: { device_id: agent.deviceId, override_id: own.id },
        }),
      );
      expectProblem(
        await deleteSoftwareBlockOverride({
          client: t.admin,
          path: { device_id: agent.deviceId, override_id: own.id },
        }),
        404,
        'not_found',
      );
    });

    it('is 404 for software the inventory does not list, 409 on device types without the command', async () => {
      expectProblem(
        await uninstallDeviceSoftware({
          client: t.admin,
          path: { device_id: agent.deviceId, software_id: `sw_${'0'.repeat(26)}` },
        }),
        404,
        'not_found',
      );
      expectProblem(
        await uninstallDeviceSoftware({
          client: t.admin,
          path: { device_id: edgeId, software_id: await idOf(TOOL) },
        }),
        409,
        'software_uninstall_unsupported',
      );
    });
  });

  describe('overrides', () => {
    it('are refused with 422 invalid_block_override unless their effect has what it needs', async () => {
      const entry = await block(unique('Kiosk shell'));
      const before = await snapshot(t);
      for (const body of [
        { effect: 'exempt', reason: 'no entry' },
        { effect: 'exempt', block_entry_id: entry.id, name_pattern: 'x', reason: 'both' },
        { effect: 'exempt', block_entry_id: 'sbe_01JDB2C4E6G8J0K2M4P6R8T0V2', reason: 'unknown entry' },
        { effect: 'block', reason: 'no pattern' },
        { effect: 'block', name_pattern: 'x', block_entry_id: entry.id, reason: 'both' },
      ] as const)
        expectProblem(await override(body), 422, 'invalid_block_override');
      expect(await snapshot(t)).toBe(before);
    });
  });
}

describe('software (SQLite)', () => {
  softwareSuite(useTestServer());
});

describe('software (PostgreSQL)', () => {
  softwareSuite(usePostgresServer());
});

describe('name patterns', () => {
  it('match the whole name ignoring case, * any run of characters and ? one', () => {
    expect(globMatches('Meridian*', 'meridian agent')).toBe(true);
    expect(globMatches('*agent', 'Meridian Agent')).toBe(true);
    expect(globMatches('Meridian', 'Meridian Agent')).toBe(false);
    expect(globMatches('lobby ?how', 'Lobby Show')).toBe(true);
    expect(globMatches('lobby ?how', 'Lobby Shows')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('*', '')).toBe(true);
  });

  it('take time in proportion to the lengths, however many stars', () => {
    const started = performance.now();
    expect(globMatches(`${'*a'.repeat(100)}b`, 'a'.repeat(200))).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
