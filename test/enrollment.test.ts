/**
 * Enrolment from the operator's side: codes (create with expiry, use limit and auto-approval,
 * install commands, list, revoke), the site's auto-approval window, and the approval queue
 * (list and filter, approve — possibly onto another site — and deny), with the agent's side
 * driven through the SDK as a real agent would.
 */
import { describe, expect, it } from 'vitest';
import {
  approveEnrollmentRequest,
  createEnrollmentCode,
  deleteDevice,
  denyEnrollmentRequest,
  enrollAgent,
  getDevice,
  getEnrollmentRequest,
  getSite,
  listDevices,
  listEnrollmentCodes,
  listEnrollmentRequests,
  pollAgentEnrollment,
  registerDevice,
  revokeEnrollmentCode,
  sendAgentHeartbeat,
  updateSite,
  type AgentEnrollmentStatus,
} from '@meridian/sdk';
import { addCode, agentFrom, facts, newFingerprint } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, requestEnrollment } from './support/world';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const t = useTestServer();

const poll = async (pending: { request_id: string; poll_token: string }) =>
  ok(
    await pollAgentEnrollment({
      client: t.client(),
      body: { request_id: pending.request_id, poll_token: pending.poll_token },
    }),
  );

describe('behind a proxy (MERIDIAN_PUBLIC_URL)', () => {
  const behind = useTestServer({ publicUrl: 'https://meridian.example.com/fleet' });

  it("writes the public URL into the install commands, not the request's host", async () => {
    const site = await addSite(behind);
    const { install_commands } = ok(
      await createEnrollmentCode({ client: behind.admin, path: { site_id: site.id }, body: {} }),
    );
    for (const install of install_commands)
      expect(install.command).toMatch(/'https:[/][/]meridian\.example\.com[/]fleet[/]v1[/]agent[/]install\./);
  });
});

describe('enrolment codes', () => {
  it('creates a code shown once, with install commands for each platform pointing at this server', async () => {
    const site = await addSite(t);
    const { data, response } = await createEnrollmentCode({
      client: t.admin,
      path: { site_id: site.id },
      body: {
        label: 'Kiosks',
        max_uses: 3,
        expires_at: new Date(t.clock.now().getTime() + DAY).toISOString(),
      },
    });
    expect(response.status).toBe(201);
    expect(data!.code).toMatch(/^mec_[A-Za-z0-9_-]{40,}$/);
    expect(data!.enrollment_code).toMatchObject({
      site_id: site.id,
      label: 'Kiosks',
      max_uses: 3,
      use_count: 0,
      auto_approve: false,
      status: 'active',
    });
    expect(data!.code.startsWith(data!.enrollment_code.code_prefix)).toBe(true);
    expect(data!.install_commands.map((c) => c.platform)).toEqual(['linux', 'macos', 'windows']);
    for (const install of data!.install_commands) {
      const script = install.platform === 'windows' ? 'install.ps1' : 'install.sh';
      expect(install.command).toContain(`'${t.url}/v1/agent/${script}?code=${data!.code}'`);
    }
    const listed = ok(await listEnrollmentCodes({ client: t.admin, path: { site_id: site.id } }));
    expect(listed.data.map((c) => c.id)).toEqual([data!.enrollment_code.id]);
    expect(JSON.stringify(listed)).not.toContain(data!.code);
  });

  it('refuses an expiry in the past or more than 90 days away (422)', async () => {
    const site = await addSite(t);
    for (const [offset, code] of [
      [-HOUR, 'expiry_in_past'],
      [91 * DAY, 'expiry_too_far'],
    ] as const) {
      const result = await createEnrollmentCode({
        client: t.admin,
        path: { site_id: site.id },
        body: { expires_at: new Date(t.clock.now().getTime() + offset).toISOString() },
      });
      expectProblem(result, 422, code);
    }
    expect(ok(await listEnrollmentCodes({ client: t.admin, path: { site_id: site.id } })).data).toEqual([]);
  });

  it('stops working once revoked, expired or used up, saying which; the attempts are kept for admins', async () => {
    const site = await addSite(t);
    const revoked = await addCode(t, site.id);
    const expiring = await addCode(t, site.id, {
      expires_at: new Date(t.clock.now().getTime() + HOUR).toISOString(),
    });
    const once = await addCode(t, site.id, { max_uses: 1 });
    const codes = ok(await listEnrollmentCodes({ client: t.admin, path: { site_id: site.id } })).data;
    expect(
      (await revokeEnrollmentCode({ client: t.admin, path: { site_id: site.id, code_id: codes[0]!.id } }))
        .response.status,
    ).toBe(204);
    expect(
      (await revokeEnrollmentCode({ client: t.admin, path: { site_id: site.id, code_id: codes[0]!.id } }))
        .response.status,
    ).toBe(204);
    await requestEnrollment(t, once);
    await t.travel(2 * HOUR);

    const attempt = (code: string) =>
      enrollAgent({ client: t.client(), body: { code, fingerprint: newFingerprint(), facts: facts() } });
    for (const [code, expected] of [
      [revoked, 'enrollment_code_revoked'],
      [expiring, 'enrollment_code_expired'],
      [once, 'enrollment_code_exhausted'],
      ['mec_no-such-code-at-all-no-such-code-at-all', 'enrollment_code_invalid'],
      ['mrt_not-a-registration-token', 'enrollment_code_invalid'],
    ] as const) {
      expectProblem(await attempt(code), 422, expected);
    }
    const statuses = ok(await listEnrollmentCodes({ client: t.admin, path: { site_id: site.id } })).data.map(
      (c) => c.status,
    );
    expect(statuses).toEqual(['revoked', 'expired', 'exhausted']);
    expect(
      ok(
        await listEnrollmentCodes({
          client: t.admin,
          path: { site_id: site.id },
          query: { status: 'exhausted' },
        }),
      ).data.map((c) => c.id),
    ).toEqual([codes[2]!.id]);
    expect(
      ok(
        await listEnrollmentCodes({
          client: t.admin,
          path: { site_id: site.id },
          query: { status: 'active' },
        }),
      ).data,
    ).toEqual([]);

    const wrong = ok(
      await listEnrollmentRequests({ client: t.admin, query: { status: 'wrong_code', limit: 500 } }),
    ).data;
    expect(
      wrong.filter((r) => r.code_id !== null && codes.some((c) => c.id === r.code_id)).map((r) => r.code_id),
    ).toEqual([codes[0]!.id, codes[1]!.id, codes[2]!.id]);
    expect(wrong.every((r) => r.site_id === null && r.status === 'wrong_code')).toBe(true);
  });

  it('shows wrong-code attempts to admins only (403 for others)', async () => {
    const site = await addSite(t);
    const operator = await addMember(t, 'operator', [site.id]);
    const refused = await listEnrollmentRequests({
      client: operator.client,
      query: { status: 'wrong_code' },
    });
    expectProblem(refused, 403, 'admin_only');
  });
});

describe('the approval queue', () => {
  it('lists pending requests of the sites one can see, and approving lets the agent collect its credentials once', async () => {
    const site = await addSite(t);
    const other = await addSite(t);
    const operator = await addMember(t, 'operator', [site.id]);
    const pending = await requestEnrollment(t, await addCode(t, site.id));
    await requestEnrollment(t, await addCode(t, other.id));
    expect(pending.poll_interval_seconds).toBe(30);
    expect(await poll(pending)).toMatchObject({
      status: 'pending',
      credentials: null,
      poll_interval_seconds: 30,
    });

    const queue = ok(
      await listEnrollmentRequests({ client: operator.client, query: { status: 'pending', limit: 500 } }),
    ).data;
    expect(queue.map((r) => r.id)).toEqual([pending.request_id]);
    expect(queue[0]).toMatchObject({
      site_id: site.id,
      status: 'pending',
      known_device_id: null,
      device_id: null,
    });

    const approved = ok(
      await approveEnrollmentRequest({
        client: operator.client,
        path: { request_id: pending.request_id },
        body: { name: 'Front desk' },
      }),
    );
    expect(approved).toMatchObject({ status: 'approved', decided_by: operator.user.id });
    const device = ok(await getDevice({ client: operator.client, path: { device_id: approved.device_id! } }));
    expect(device).toMatchObject({
      name: 'Front desk',
      site_id: site.id,
      status: 'pending',
      platform: 'linux',
      enrolled_at: null,
    });

    const collected = await poll(pending);
    expect(collected).toMatchObject({ status: 'approved', device_id: device.id });
    expect(collected.credentials!.access_token).toMatch(/^mat_/);
    expect(collected.credentials!.refresh_token).toMatch(/^mrf_/);
    const again = await pollAgentEnrollment({
      client: t.client(),
      body: { request_id: pending.request_id, poll_token: pending.poll_token },
    });
    expectProblem(again, 409, 'enrollment_already_completed');
    expect(
      ok(await getEnrollmentRequest({ client: operator.client, path: { request_id: pending.request_id } }))
        .status,
    ).toBe('completed');
    expect(
      ok(await getDevice({ client: operator.client, path: { device_id: device.id } })).enrolled_at,
    ).not.toBeNull();

    const agent = agentFrom(t, collected.credentials!);
    expect(
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 5 },
        }),
      ).device_id,
    ).toBe(device.id);
  });

  it('approves onto another site the operator can see; an unknown or invisible site is 422', async () => {
    const from = await addSite(t);
    const to = await addSite(t);
    const hidden = await addSite(t);
    const operator = await addMember(t, 'operator', [from.id, to.id]);
    const pending = await requestEnrollment(t, await addCode(t, from.id));
    for (const siteId of [hidden.id, 'site_01JC0A1B2C3D4E5F6G7H8J9K0M']) {
      const refused = await approveEnrollmentRequest({
        client: operator.client,
        path: { request_id: pending.request_id },
        body: { site_id: siteId },
      });
      expectProblem(refused, 422, 'unknown_site');
    }
    const approved = ok(
      await approveEnrollmentRequest({
        client: operator.client,
        path: { request_id: pending.request_id },
        body: { site_id: to.id },
      }),
    );
    expect(approved.site_id).toBe(to.id);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: approved.device_id! } })).site_id).toBe(
      to.id,
    );
  });

  it('denies for good: the agent is told, and the request can be neither approved nor denied again (409)', async () => {
    const site = await addSite(t);
    const pending = await requestEnrollment(t, await addCode(t, site.id));
    const denied = ok(
      await denyEnrollmentRequest({
        client: t.admin,
        path: { request_id: pending.request_id },
        body: { reason: 'Unknown machine' },
      }),
    );
    expect(denied).toMatchObject({ status: 'denied', deny_reason: 'Unknown machine' });
    expect(await poll(pending)).toMatchObject({
      status: 'denied',
      deny_reason: 'Unknown machine',
      credentials: null,
    });
    for (const decide of [
      () => approveEnrollmentRequest({ client: t.admin, path: { request_id: pending.request_id }, body: {} }),
      () => denyEnrollmentRequest({ client: t.admin, path: { request_id: pending.request_id }, body: {} }),
    ]) {
      const result = await decide();
      expectProblem(result, 409, 'enrollment_request_not_pending');
    }
    expect(ok(await listDevices({ client: t.admin, query: { site_id: site.id } })).data).toEqual([]);
  });

  it('expires requests nobody decides within 7 days; they can never be approved', async () => {
    const site = await addSite(t);
    const pending = await requestEnrollment(
      t,
      await addCode(t, site.id, { expires_at: new Date(t.clock.now().getTime() + 30 * DAY).toISOString() }),
    );
    await t.travel(7 * DAY + HOUR);
    expect(
      ok(await getEnrollmentRequest({ client: t.admin, path: { request_id: pending.request_id } })).status,
    ).toBe('expired');
    expect(
      ok(
        await listEnrollmentRequests({ client: t.admin, query: { status: 'expired', site_id: site.id } }),
      ).data.map((r) => r.id),
    ).toEqual([pending.request_id]);
    expect(
      ok(await listEnrollmentRequests({ client: t.admin, query: { status: 'pending', site_id: site.id } }))
        .data,
    ).toEqual([]);
    expect(await poll(pending)).toMatchObject({ status: 'expired', credentials: null });
    const late = await approveEnrollmentRequest({
      client: t.admin,
      path: { request_id: pending.request_id },
      body: {},
    });
    expectProblem(late, 409, 'enrollment_request_not_pending');
  });

  it('refuses a second request from a machine whose request is still pending (409), and unknown poll tokens (404)', async () => {
    const site = await addSite(t);
    const code = await addCode(t, site.id);
    const fingerprint = newFingerprint();
    const pending = await requestEnrollment(t, code, fingerprint);
    const twice = await enrollAgent({ client: t.client(), body: { code, fingerprint, facts: facts() } });
    expectProblem(twice, 409, 'enrollment_already_pending');
    const stranger = await pollAgentEnrollment({
      client: t.client(),
      body: { request_id: pending.request_id, poll_token: 'mpt_guessed' },
    });
    expectProblem(stranger, 404, 'not_found');
  });

  it('gives a reinstalled machine its old device back, and a machine whose device was deleted a fresh one', async () => {
    const site = await addSite(t);
    const code = await addCode(t, site.id, { max_uses: 10 });
    const fingerprint = newFingerprint();
    const first = await requestEnrollment(t, code, fingerprint);
    const device = ok(
      await approveEnrollmentRequest({ client: t.admin, path: { request_id: first.request_id }, body: {} }),
    ).device_id!;
    const oldCredentials = (await poll(first)).credentials!;

    const again = await requestEnrollment(t, code, fingerprint);
    expect(
      ok(await getEnrollmentRequest({ client: t.admin, path: { request_id: again.request_id } }))
        .known_device_id,
    ).toBe(device);
    expect(
      ok(
        await approveEnrollmentRequest({ client: t.admin, path: { request_id: again.request_id }, body: {} }),
      ).device_id,
    ).toBe(device);
    const old = await sendAgentHeartbeat({
      client: t.client(oldCredentials.access_token),
      body: { status: 'ok', agent_version: '1', uptime_seconds: 1 },
    });
    expectProblem(old, 401, 'credentials_revoked');
    expect((await poll(again)).device_id).toBe(device);

    expect((await deleteDevice({ client: t.admin, path: { device_id: device } })).response.status).toBe(204);
    const third = await requestEnrollment(t, code, fingerprint);
    expect(
      ok(await getEnrollmentRequest({ client: t.admin, path: { request_id: third.request_id } }))
        .known_device_id,
    ).toBeNull();
    const fresh = ok(
      await approveEnrollmentRequest({ client: t.admin, path: { request_id: third.request_id }, body: {} }),
    ).device_id!;
    expect(fresh).not.toBe(device);
    expect((await poll(third)).device_id).toBe(fresh);
  });

  it('tells an agent whose approved device was deleted before it collected its credentials that the request expired', async () => {
    const site = await addSite(t);
    const pending = await requestEnrollment(t, await addCode(t, site.id));
    const deviceId = ok(
      await approveEnrollmentRequest({ client: t.admin, path: { request_id: pending.request_id }, body: {} }),
    ).device_id!;
    expect((await deleteDevice({ client: t.admin, path: { device_id: deviceId } })).response.status).toBe(
      204,
    );
    expect(await poll(pending)).toMatchObject({ status: 'expired', credentials: null });
  });
});

describe('approving at once', () => {
  it('hands out credentials at enrolment (201) with an auto-approving code', async () => {
    const site = await addSite(t);
    const result = await enrollAgent({
      client: t.client(),
      body: {
        code: await addCode(t, site.id, { auto_approve: true }),
        fingerprint: newFingerprint(),
        facts: facts({ hostname: 'auto-1', timezone: 'Europe/Lisbon' }),
      },
    });
    expect(result.response.status).toBe(201);
    const body = result.data as AgentEnrollmentStatus;
    expect(body).toMatchObject({ status: 'approved', poll_interval_seconds: null });
    expect(ok(await getDevice({ client: t.admin, path: { device_id: body.device_id! } }))).toMatchObject({
      name: 'auto-1',
      site_id: site.id,
      hostname: 'auto-1',
      timezone: 'Europe/Lisbon',
    });
    expect(
      ok(await getEnrollmentRequest({ client: t.admin, path: { request_id: body.request_id } })),
    ).toMatchObject({ status: 'completed', decided_by: null });
  });

  it('approves every code of a site while its auto-approval window is open, and no longer once it closes', async () => {
    const site = await addSite(t);
    const code = await addCode(t, site.id, { max_uses: 10 });
    const until = new Date(t.clock.now().getTime() + HOUR).toISOString();
    expect(
      ok(
        await updateSite({
          client: t.admin,
          path: { site_id: site.id },
          body: { auto_approve_until: until },
        }),
      ).auto_approve_until,
    ).toBe(until);
    const during = await enrollAgent({
      client: t.client(),
      body: { code, fingerprint: newFingerprint(), facts: facts() },
    });
    expect(during.response.status).toBe(201);
    await t.travel(2 * HOUR);
    const after = await enrollAgent({
      client: t.client(),
      body: { code, fingerprint: newFingerprint(), facts: facts() },
    });
    expect(after.response.status).toBe(202);
    expect(
      ok(
        await updateSite({ client: t.admin, path: { site_id: site.id }, body: { auto_approve_until: null } }),
      ).auto_approve_until,
    ).toBeNull();
  });

  it('refuses an auto-approval window in the past or more than 7 days away (422), changing nothing', async () => {
    const site = await addSite(t);
    for (const [offset, code] of [
      [-HOUR, 'auto_approval_window_in_past'],
      [8 * DAY, 'auto_approval_window_too_long'],
    ] as const) {
      const result = await updateSite({
        client: t.admin,
        path: { site_id: site.id },
        body: { auto_approve_until: new Date(t.clock.now().getTime() + offset).toISOString() },
      });
      expectProblem(result, 422, code);
    }
    expect(ok(await getSite({ client: t.admin, path: { site_id: site.id } })).auto_approve_until).toBeNull();
  });

  it('enrols a pre-registered device with its registration token, once, keeping its ID and name', async () => {
    const site = await addSite(t);
    const registration = ok(
      await registerDevice({
        client: t.admin,
        body: { name: 'Pre-registered', site_id: site.id, platform: 'windows' },
      }),
    );
    const enrol = () =>
      enrollAgent({
        client: t.client(),
        body: {
          code: registration.registration_token,
          fingerprint: newFingerprint(),
          facts: facts({ platform: 'windows' }),
        },
      });
    const first = await enrol();
    expect(first.response.status).toBe(201);
    expect((first.data as AgentEnrollmentStatus).device_id).toBe(registration.device.id);
    expect(
      ok(await getDevice({ client: t.admin, path: { device_id: registration.device.id } })),
    ).toMatchObject({ name: 'Pre-registered', enrolled_at: expect.any(String) });
    const second = await enrol();
    expectProblem(second, 422, 'enrollment_code_invalid');
  });

  it('refuses an expired registration token, and one whose machine is another device already (409)', async () => {
    const site = await addSite(t);
    const taken = agentFrom(
      t,
      (
        (
          await enrollAgent({
            client: t.client(),
            body: {
              code: await addCode(t, site.id, { auto_approve: true }),
              fingerprint: 'sha256:taken-machine-0001',
              facts: facts(),
            },
          })
        ).data as AgentEnrollmentStatus
      ).credentials!,
    );
    expect(taken.deviceId).toMatch(/^dev_/);
    const fresh = ok(
      await registerDevice({ client: t.admin, body: { name: 'Clone', site_id: site.id, platform: 'linux' } }),
    );
    const clash = await enrollAgent({
      client: t.client(),
      body: { code: fresh.registration_token, fingerprint: 'sha256:taken-machine-0001', facts: facts() },
    });
    expectProblem(clash, 409, 'fingerprint_in_use');
    const stale = ok(
      await registerDevice({ client: t.admin, body: { name: 'Late', site_id: site.id, platform: 'linux' } }),
    );
    await t.travel(8 * DAY);
    const late = await enrollAgent({
      client: t.client(),
      body: { code: stale.registration_token, fingerprint: newFingerprint(), facts: facts() },
    });
    expectProblem(late, 422, 'registration_token_expired');
  });
});

describe('waiting for the decision', () => {
  const waitingPoll = (pending: { request_id: string; poll_token: string }, waitSeconds: number) =>
    pollAgentEnrollment({
      client: t.client(),
      body: { request_id: pending.request_id, poll_token: pending.poll_token },
      query: { wait_seconds: waitSeconds },
    });

  it('answers a poll with wait_seconds as soon as the request is approved or denied, without the clock moving', async () => {
    const site = await addSite(t);
    const approving = await requestEnrollment(t, await addCode(t, site.id));
    const approvalPoll = waitingPoll(approving, 30);
    await t.clock.waitingOn('agent-enrollment');
    ok(
      await approveEnrollmentRequest({
        client: t.admin,
        path: { request_id: approving.request_id },
        body: {},
      }),
    );
    expect(ok(await approvalPoll)).toMatchObject({ status: 'approved', credentials: expect.anything() });

    const denying = await requestEnrollment(t, await addCode(t, site.id));
    const denialPoll = waitingPoll(denying, 30);
    await t.clock.waitingOn('agent-enrollment');
    ok(await denyEnrollmentRequest({ client: t.admin, path: { request_id: denying.request_id }, body: {} }));
    expect(ok(await denialPoll)).toMatchObject({ status: 'denied', credentials: null });
  });

  it('answers pending once wait_seconds pass undecided', async () => {
    const pending = await requestEnrollment(t, await addCode(t, (await addSite(t)).id));
    const polling = waitingPoll(pending, 10);
    await t.clock.waitingOn('agent-enrollment');
    await t.clock.advance(10_000);
    expect(ok(await polling)).toMatchObject({ status: 'pending', poll_interval_seconds: 30 });
  });
});
