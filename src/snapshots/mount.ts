/**
 * Mounting snapshot mounts with mount(8)/umount(8) (Node has no mount(2)), and a probe for
 * whether overlayfs can be mounted here at all.
 *
 * An overlay of a deep chain has many lowerdirs; mount(2) takes at most one page of options.
 * Like containerd, a long option string is shortened by running mount in the lowerdirs'
 * common parent with relative names (`12/fs:11/fs:…`): the kernel resolves them against the
 * caller's working directory.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { failedPrecondition, wrapSystemError } from '../errors.js';
import type { Mount } from './types.js';

const exec = promisify(execFile);
const PAGE = 4096;

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  try {
    await exec(cmd, args, { cwd, timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw failedPrecondition('ERR_NO_MOUNT', `${cmd} not found: mounting needs util-linux`, {});
    const why = (e.stderr ?? e.message).trim().split('\n')[0];
    throw failedPrecondition('ERR_MOUNT', `${cmd} ${args.join(' ').slice(0, 300)} failed: ${why}`, { path: args.at(-1) });
  }
}

/** Overlay options with lowerdirs made relative to their common parent when too long. */
function overlayArgs(m: Mount): { options: string; cwd?: string } {
  const options = m.options.join(',');
  if (options.length < PAGE - 256) return { options };
  const lower = m.options.find((o) => o.startsWith('lowerdir='))!.slice('lowerdir='.length).split(':');
  const common = dirname(dirname(lower[0]!));
  const rel = lower.map((l) => relative(common, l));
  const rest = m.options.filter((o) => !o.startsWith('lowerdir='));
  return { options: [`lowerdir=${rel.join(':')}`, ...rest].join(','), cwd: common };
}

/** Mounts `mounts` (one, as the snapshotters return) on `target`. */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  if (mounts.length !== 1) throw failedPrecondition('ERR_MOUNT', `expected one mount, got ${mounts.length}`, { path: target });
  const m = mounts[0]!;
  if (m.type === 'bind') {
    await run('mount', ['--bind', m.source, target]);
    // A read-only bind takes a second, remount step.
    if (m.options.includes('ro')) await run('mount', ['-o', 'remount,bind,ro', target]);
    return;
  }
  const { options, cwd } = overlayArgs(m);
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options, resolve(target)], cwd);
}

export async function unmount(target: string, o: { lazy?: boolean } = {}): Promise<void> {
  await run('umount', [...(o.lazy ? ['-l'] : []), target]);
}

/** Mount points listed in /proc/self/mountinfo (octal escapes decoded). */
export async function mountPoints(): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return new Set();
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[4]) out.add(f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).has(resolve(path));
}

/**
 * Runs `fn` with the mounts' content at a path: a single writable bind mount is used in place
 * (no privilege needed; this is how the naive driver works unprivileged), and so is a
 * read-only one when this process could not mount anyway; anything else is mounted on a
 * fresh directory from `makeTarget` (read-only binds stay read-only) and unmounted
 * afterwards, whatever `fn` does.
 */
export async function withMounts<T>(mounts: readonly Mount[], makeTarget: () => Promise<string>, fn: (path: string) => Promise<T>): Promise<T> {
  const m = mounts[0];
  if (mounts.length === 1 && m!.type === 'bind' && (!m!.options.includes('ro') || process.getuid?.() !== 0)) return fn(m!.source);
  const target = await makeTarget();
  try {
    await mountAll(mounts, target);
    try {
      return await fn(target);
    } finally {
      await unmount(target);
    }
  } finally {
    await rmdir(target).catch(() => {});
  }
}

let probed: Promise<string | undefined> | undefined;

/**
 * Whether overlayfs mounts work for this process: mounts a one-file overlay in a temp dir,
 * checks the file shows through, unmounts. Returns undefined when it works, else the reason.
 * Probed once per process.
 */
export function probeOverlay(): Promise<string | undefined> {
  probed ??= (async () => {
    if (process.getuid?.() !== 0) return 'not running as root';
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(tmpdir(), 'ck-overlay-probe-'));
      for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, d));
      await writeFile(join(dir, 'lower', 'probe'), 'ok');
      await mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${join(dir, 'lower')}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`] }], join(dir, 'merged'));
      try {
        if ((await readFile(join(dir, 'merged', 'probe'), 'utf8')) !== 'ok') return 'overlay mount does not show its lower layer';
      } finally {
        await unmount(join(dir, 'merged'));
      }
      return undefined;
    } catch (err) {
      return (err as Error).message;
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  })().catch((err) => wrapSystemError(err, 'probing overlayfs').message);
  return probed;
}
