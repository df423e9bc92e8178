/**
 * Scratch space of a snapshotter, `<driver dir>/tmp/<pid>-<start ticks>-<random>`: where a
 * snapshot is built before it is renamed into place, where a removed one is moved before it
 * is deleted, and where appliers mount. The name carries the creating process's identity, so
 * anything a killed process left behind is recognised (its pid is gone, or now belongs to a
 * process that started at another time) and swept; it never blocks anything meanwhile.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint, unmount } from './mount.js';

function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: fields resume after the last ')'.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

const self = `${process.pid}-${startTicks(process.pid) ?? 0}`;

/** This process's identity as `<pid>-<start ticks>`, for names and labels of things it owns. */
export function ownerTag(): string {
  return self;
}

export function scratchDir(driverDir: string): string {
  return join(driverDir, 'tmp');
}

/** A fresh, empty directory owned by this process. */
export async function makeScratch(driverDir: string, tag: string): Promise<string> {
  const parent = scratchDir(driverDir);
  await mkdir(parent, { recursive: true });
  const dir = join(parent, `${self}-${tag}-${Math.random().toString(36).slice(2, 10)}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** A name in the scratch space for rename(2)-ing something away (not created). */
export async function scratchName(driverDir: string, tag: string): Promise<string> {
  const parent = scratchDir(driverDir);
  await mkdir(parent, { recursive: true });
  return join(parent, `${self}-${tag}-${Math.random().toString(36).slice(2, 10)}`);
}

/** True when the process that made `name` is provably gone. */
export function ownerGone(name: string): boolean {
  const m = /^(\d+)-(\d+)-/.exec(name);
  if (!m) return true;
  const pid = Number(m[1]);
  const ticks = startTicks(pid);
  return ticks === undefined || String(ticks) !== m[2];
}

/**
 * Deletes scratch entries of dead processes (unmounting any mount a killed applier left) and
 * this process's own entries tagged `rm`. Best effort: errors leave the entry for next time.
 */
export async function sweepScratch(driverDir: string): Promise<number> {
  const parent = scratchDir(driverDir);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return 0;
  }
  let swept = 0;
  for (const name of names) {
    const mine = name.startsWith(`${self}-`);
    if (mine ? !name.startsWith(`${self}-rm-`) : !ownerGone(name)) continue;
    const p = join(parent, name);
    try {
      if (await isMountPoint(p)) await unmount(p, { lazy: true });
      await rm(p, { recursive: true, force: true, maxRetries: 2 });
      swept++;
    } catch {
      // left for the next sweep
    }
  }
  return swept;
}
