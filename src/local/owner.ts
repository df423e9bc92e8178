/**
 * Process identity for lock owners: pid + host + boot id + the process start time in
 * clock ticks (field 22 of /proc/<pid>/stat). The start time tells a live owner from an
 * unrelated process that reused its pid; the boot id tells that every pid recorded before
 * a reboot is dead; the pid namespace tells whether the pid can be judged here at all. Off Linux, only pid liveness (kill 0) is available.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Owner } from '../content/types.js';

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The pid namespace: two containers on one host may share a hostname and a store while their
 * pids mean different processes. A pid from another namespace cannot be judged from here.
 */
function readPidNs(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** Start time of `pid` in clock ticks since boot, or undefined if it does not exist. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[19]); // field 22 overall; rest[0] is field 3
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

let self: Owner | undefined;

/** This process's identity, read on first use (commands that take no lock never read /proc). */
export function currentOwner(): Owner {
  self ??= Object.freeze({
    pid: process.pid,
    host: hostname(),
    bootId: readBootId(),
    startTicks: processStartTicks(process.pid),
    pidNs: readPidNs(),
  });
  return self;
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * 'dead' only when provable: same host and pid namespace, and (another boot, or the pid is
 * gone, or the pid now belongs to a process that started at another time). 'alive' means a
 * process that exists — it may be stopped (SIGSTOP, a debugger, a suspended laptop): a
 * stopped process still holds what it holds. Another host or namespace → 'unknown'.
 */
export function ownerLiveness(owner: Owner | undefined): Liveness {
  if (!owner || typeof owner.pid !== 'number') return 'unknown';
  const self = currentOwner();
  if (owner.host !== self.host) return 'unknown';
  if (owner.pidNs !== undefined && self.pidNs !== undefined && owner.pidNs !== self.pidNs) return 'unknown';
  if (owner.bootId && self.bootId && owner.bootId !== self.bootId) return 'dead';
  if (owner.pid === self.pid) {
    return owner.startTicks === undefined || owner.startTicks === self.startTicks ? 'alive' : 'dead';
  }
  const ticks = processStartTicks(owner.pid);
  if (ticks !== undefined) {
    return owner.startTicks === undefined || owner.startTicks === ticks ? 'alive' : 'dead';
  }
  try {
    process.kill(owner.pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}

export function formatOwner(owner: Owner | undefined): string {
  return owner ? `${owner.pid}@${owner.host}` : '-';
}
