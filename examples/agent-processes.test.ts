/**
 * The reference agent's process supervisor on its own: which launch modes and schedule windows
 * run a program, and what it reports for each monitored process.
 */
import { describe, expect, it } from 'vitest';
import type { MonitoredProcess, ProcessSchedule } from '@meridian/sdk';
import { insideSchedule, ProcessSupervisor } from './agent/processes';

// Local times: 2026-11-30 is a Monday.
const at = (day: number, time: string) => new Date(`2026-11-${String(29 + day)}T${time}:00`);

describe('insideSchedule', () => {
  it('is inside a window on its days, from its start up to (not including) its end', () => {
    const windows: ProcessSchedule[] = [{ days: ['mon', 'tue'], start_time: '08:00', end_time: '18:00' }];
    expect(insideSchedule(windows, at(1, '08:00'))).toBe(true);
    expect(insideSchedule(windows, at(2, '17:59'))).toBe(true);
    expect(insideSchedule(windows, at(1, '18:00'))).toBe(false);
    expect(insideSchedule(windows, at(1, '07:59'))).toBe(false);
    expect(insideSchedule(windows, at(3, '12:00'))).toBe(false);
  });

  it('runs a window that ends before it starts past midnight into the next day', () => {
    const night: ProcessSchedule[] = [{ days: ['sun'], start_time: '22:00', end_time: '02:00' }];
    expect(insideSchedule(night, at(0, '23:30'))).toBe(true);
    expect(insideSchedule(night, at(1, '01:59'))).toBe(true);
    expect(insideSchedule(night, at(1, '02:00'))).toBe(false);
    expect(insideSchedule(night, at(1, '23:30'))).toBe(false);
  });
});

const monitored = (id: string, fields: Partial<MonitoredProcess>): MonitoredProcess => ({
  id,
  device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ',
  name: id,
  executable_path: '/nonexistent/program',
  arguments: [],
  working_directory: null,
  launch_mode: 'off',
  schedules: [],
  restart_delay_seconds: 5,
  state: null,
  pid: null,
  restart_count: null,
  state_changed_at: null,
  reported_at: null,
  last_exit: null,
  created_at: '2026-11-30T08:00:00.000Z',
  updated_at: '2026-11-30T08:00:00.000Z',
  ...fields,
});

describe('ProcessSupervisor', () => {
  it('reports processes that are off, or outside their windows, as idle, and runs none of them', () => {
    const supervisor = new ProcessSupervisor();
    const never: ProcessSchedule[] = [{ days: ['sat'], start_time: '00:00', end_time: '00:01' }];
    supervisor.apply([
      monitored('prc_01JD6A3C5E7G9J1K3N5Q7S9T1A', {}),
      monitored('prc_01JD6A3C5E7G9J1K3N5Q7S9T1B', { launch_mode: 'scheduled', schedules: never }),
    ]);
    supervisor.reconcile(at(1, '12:00'));
    expect(supervisor.states().map(({ process_id, state, pid }) => ({ process_id, state, pid }))).toEqual([
      { process_id: 'prc_01JD6A3C5E7G9J1K3N5Q7S9T1A', state: 'idle', pid: undefined },
      { process_id: 'prc_01JD6A3C5E7G9J1K3N5Q7S9T1B', state: 'idle', pid: undefined },
    ]);
    supervisor.stopAll();
    expect(supervisor.states()).toEqual([]);
  });

  it('reports how a program last ended: its exit status, and the state crashed', async () => {
    const supervisor = new ProcessSupervisor();
    supervisor.apply([
      monitored('prc_01JD6A3C5E7G9J1K3N5Q7S9T1C', {
        executable_path: '/bin/sh',
        arguments: ['-c', 'exit 3'],
        launch_mode: 'always',
        restart_delay_seconds: 3600,
      }),
    ]);
    try {
      await expect.poll(() => supervisor.states()[0]?.state).toBe('crashed');
      expect(supervisor.states()[0]!.last_exit).toEqual({
        exit_code: 3,
        signal: null,
        exited_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    } finally {
      supervisor.stopAll();
    }
  });
});
