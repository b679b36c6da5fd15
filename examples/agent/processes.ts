/**
 * The reference agent's process supervisor: keeps the monitored processes of its desired
 * configuration running as their launch modes say — `always`; `scheduled` inside the weekly
 * windows, in the machine's local time; `off` left alone — starting one again
 * `restart_delay_seconds` after it exits, and says what each is doing for the heartbeat.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { AgentProcessState, MonitoredProcess, ProcessSchedule } from '@meridian/sdk';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const minutesOf = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

/** Whether `at` (local time) falls inside one of the weekly windows; a window may run past midnight. */
export function insideSchedule(schedules: readonly ProcessSchedule[], at: Date): boolean {
  const day = DAYS[at.getDay()]!;
  const yesterday = DAYS[(at.getDay() + 6) % 7]!;
  const minute = at.getHours() * 60 + at.getMinutes();
  return schedules.some(({ days, start_time, end_time }) => {
    const start = minutesOf(start_time);
    const end = minutesOf(end_time);
    if (start < end) return days.includes(day) && minute >= start && minute < end;
    return (days.includes(day) && minute >= start) || (days.includes(yesterday) && minute < end);
  });
}

/** One monitored process and the program the agent runs for it. */
class Supervised {
  state: AgentProcessState['state'] = 'idle';
  since = new Date();
  restarts = 0;
  lastExit: AgentProcessState['last_exit'];
  #child: ChildProcess | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #retired = false;

  constructor(readonly process: MonitoredProcess) {}

  /** Starts or stops the program as the launch mode and schedule want it now. */
  reconcile(now: Date): void {
    const { launch_mode, schedules } = this.process;
    const wanted =
      launch_mode === 'always' || (launch_mode === 'scheduled' && insideSchedule(schedules, now));
    if (wanted && this.state === 'idle') this.#start();
    if (!wanted && this.state !== 'idle') this.#stop();
  }

  report(): AgentProcessState {
    return {
      process_id: this.process.id,
      state: this.state,
      ...(this.state === 'running' && this.#child?.pid !== undefined ? { pid: this.#child.pid } : {}),
      restart_count: this.restarts,
      since: this.since.toISOString(),
      ...(this.lastExit ? { last_exit: this.lastExit } : {}),
    };
  }

  /** Stops the program for good (the process was removed or changed). */
  retire(): void {
    this.#retired = true;
    this.#stop();
  }

  #enter(state: AgentProcessState['state']): void {
    this.state = state;
    this.since = new Date();
  }

  #start(): void {
    this.#enter('starting');
    const { executable_path, arguments: args, working_directory } = this.process;
    const child = spawn(executable_path, args, {
      stdio: 'ignore',
      ...(working_directory === null ? {} : { cwd: working_directory }),
    });
    this.#child = child;
    child.once('spawn', () => this.#enter('running'));
    // A program that cannot be started (missing, not executable) is stopped, and tried again later.
    child.once('error', () => this.#exited(child, 'stopped'));
    child.once('exit', (code, signal) => {
      if (this.#child === child)
        this.lastExit = { exit_code: code, signal, exited_at: new Date().toISOString() };
      this.#exited(child, code === 0 && signal === null ? 'stopped' : 'crashed');
    });
  }

  #exited(child: ChildProcess, state: 'stopped' | 'crashed'): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#enter(state);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#retired || this.state === 'idle') return;
      this.restarts++;
      this.#start();
    }, this.process.restart_delay_seconds * 1000);
  }

  #stop(): void {
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    this.#child = undefined;
    child?.kill();
    this.#enter('idle');
  }
}

export class ProcessSupervisor {
  #supervised = new Map<string, Supervised>();

  /** Follows a new desired configuration: processes removed or changed are stopped, the rest kept. */
  apply(processes: readonly MonitoredProcess[]): void {
    const settings = (process: MonitoredProcess) =>
      JSON.stringify([
        process.executable_path,
        process.arguments,
        process.working_directory,
        process.launch_mode,
        process.schedules,
        process.restart_delay_seconds,
      ]);
    const next = new Map<string, Supervised>();
    for (const process of processes) {
      const current = this.#supervised.get(process.id);
      if (current && settings(current.process) === settings(process)) next.set(process.id, current);
      else {
        current?.retire();
        next.set(process.id, new Supervised(process));
      }
    }
    for (const [id, gone] of this.#supervised) if (!next.has(id)) gone.retire();
    this.#supervised = next;
    this.reconcile();
  }

  /** Starts and stops programs as their schedules want them now (with every heartbeat). */
  reconcile(now = new Date()): void {
    for (const supervised of this.#supervised.values()) supervised.reconcile(now);
  }

  /** The state of every monitored process, for the heartbeat. */
  states(): AgentProcessState[] {
    this.reconcile();
    return [...this.#supervised.values()].map((supervised) => supervised.report());
  }

  /** Stops every program it started. */
  stopAll(): void {
    for (const supervised of this.#supervised.values()) supervised.retire();
    this.#supervised.clear();
  }
}
