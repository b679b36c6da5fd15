/**
 * What the reference agent knows about the machine it runs on, from Node's `os` module: its
 * fingerprint, the facts it enrols with, and the heartbeat it reports.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { AgentFacts, AgentHeartbeat, InstalledSoftware, InventoryReport, Platform } from '@meridian/sdk';

export const AGENT_VERSION = '0.1.0';

const PLATFORMS: Record<string, Platform> = { win32: 'windows', darwin: 'macos', linux: 'linux' };

function addresses(): string[] {
  const found = Object.values(os.networkInterfaces())
    .flat()
    .filter((nic) => nic && !nic.internal)
    .map((nic) => nic!.address.split('%')[0]!);
  return [...new Set(found)].slice(0, 32);
}

/** Stable across agent reinstalls: the host name and the hardware addresses of its interfaces. */
export function fingerprint(): string {
  const macs = Object.values(os.networkInterfaces())
    .flat()
    .map((nic) => nic?.mac)
    .filter((mac) => mac && mac !== '00:00:00:00:00:00')
    .sort();
  return `sha256:${createHash('sha256')
    .update([os.hostname(), ...macs].join('|'))
    .digest('hex')}`;
}

export function facts(): AgentFacts {
  return {
    hostname: os.hostname().slice(0, 253),
    platform: PLATFORMS[process.platform] ?? 'other',
    os_name: os.type().slice(0, 100),
    os_version: os.release().slice(0, 100),
    agent_version: AGENT_VERSION,
    addresses: addresses(),
  };
}

const percent = (value: number): number => Math.min(100, Math.max(0, Math.round(value * 10) / 10));

export function heartbeat(): AgentHeartbeat {
  const [load] = os.loadavg();
  return {
    status: 'ok',
    agent_version: AGENT_VERSION,
    uptime_seconds: Math.floor(os.uptime()),
    hostname: os.hostname().slice(0, 253),
    addresses: addresses(),
    metrics: {
      cpu_percent: percent(((load ?? 0) / os.cpus().length) * 100),
      memory_percent: percent((1 - os.freemem() / os.totalmem()) * 100),
      disk_percent: 0,
    },
  };
}

/**
 * What `os` can tell without extra tools, the hardware, and the software the agent installed
 * (software.ts). The rest of the software and services need a package manager.
 */
export function inventory(software: InstalledSoftware[]): InventoryReport {
  return {
    hardware: {
      cpu_model: (os.cpus()[0]?.model ?? 'unknown').slice(0, 200),
      cpu_cores: Math.max(1, os.cpus().length),
      memory_bytes: os.totalmem(),
    },
    software,
    services: [],
  };
}
