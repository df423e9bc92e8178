/**
 * config.json of an OCI runtime bundle (runtime-spec 1.0.2, the version runc 1.1 writes with
 * `runc spec`) from an image config: args = Entrypoint + Cmd, env (PATH added when absent),
 * cwd, user (numeric, or names looked up in the rootfs's /etc/passwd and /etc/group), and
 * the same mounts, namespaces, capabilities and masked paths `runc spec` uses.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition } from '../errors.js';
import type { ImageConfig } from './image-config.js';

export const RUNTIME_SPEC_VERSION = '1.0.2';
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
const MAX_DB_BYTES = 1 << 20;

export interface User {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** /etc/<file> of the rootfs, never through a symlink (it could point out of the rootfs). */
async function readEtc(rootfs: string, file: string): Promise<string[][]> {
  try {
    if (!(await lstat(join(rootfs, 'etc'))).isDirectory()) return [];
    const fh = await open(join(rootfs, 'etc', file), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(MAX_DB_BYTES);
      const { bytesRead } = await fh.read(buf, 0, MAX_DB_BYTES, 0);
      return buf.subarray(0, bytesRead).toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
    } finally {
      await fh.close();
    }
  } catch {
    return [];
  }
}

const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);

/** `user`, `uid`, `user:group`, `uid:gid` (Docker's USER forms) → numeric ids. */
export async function resolveUser(spec: string | undefined, rootfs: string): Promise<User> {
  if (!spec) return { uid: 0, gid: 0 };
  const [u, g] = spec.split(':', 2) as [string, string | undefined];
  const passwd = await readEtc(rootfs, 'passwd');
  const pw = passwd.find((f) => f[0] === u) ?? (num(u) !== undefined ? passwd.find((f) => num(f[2]) === num(u)) : undefined);
  const uid = num(u) ?? num(pw?.[2]);
  if (uid === undefined) throw failedPrecondition('ERR_UNKNOWN_USER', `image user ${JSON.stringify(spec)}: no user ${JSON.stringify(u)} in the image's /etc/passwd`, { actual: spec });
  const groups = await readEtc(rootfs, 'group');
  let gid: number | undefined;
  if (g !== undefined) {
    gid = num(g) ?? num(groups.find((f) => f[0] === g)?.[2]);
    if (gid === undefined) throw failedPrecondition('ERR_UNKNOWN_GROUP', `image user ${JSON.stringify(spec)}: no group ${JSON.stringify(g)} in the image's /etc/group`, { actual: spec });
  } else gid = num(pw?.[3]) ?? 0;
  const name = pw?.[0];
  const extra = name ? groups.filter((f) => (f[3] ?? '').split(',').includes(name)).map((f) => num(f[2])).filter((x): x is number => x !== undefined && x !== gid) : [];
  return { uid, gid, ...(extra.length ? { additionalGids: [...new Set(extra)] } : {}) };
}

export interface SpecOptions {
  hostname?: string;
  /** Used when the image has neither Entrypoint nor Cmd. */
  defaultArgs?: string[];
}

export function runtimeSpec(image: ImageConfig, user: User, o: SpecOptions = {}): Record<string, unknown> {
  const c = image.config;
  const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const env = [...(c.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  return {
    ociVersion: RUNTIME_SPEC_VERSION,
    process: {
      terminal: false,
      user,
      args: args.length ? args : (o.defaultArgs ?? ['sh']),
      env,
      cwd: c.WorkingDir && c.WorkingDir.startsWith('/') ? c.WorkingDir : `/${c.WorkingDir ?? ''}`,
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: o.hostname ?? 'container',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    ...(c.Labels ? { annotations: c.Labels } : {}),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
