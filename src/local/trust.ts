/**
 * Who may write into a store, and the checks that keep anyone else out (README: Trust model).
 *
 * A store is private to one user, or shared by one group: its root is setgid and
 * group-writable (`chgrp G root && chmod 2775 root`), so every directory created below it
 * inherits the group, and the store makes its own directories group-writable and its files
 * group-readable/writable whatever the umask. Trusted writers are then: root, the owner of
 * the store root, the current user, and — in a group store — anyone whose directories carry
 * the store's group.
 *
 * Before use, the root and the store's own top-level directories are checked with lstat
 * (never following a symlink): each must be a real directory, owned by a trusted writer, not
 * writable by others, and group-writable only for the store's group. A root writable by
 * everyone is accepted only with the sticky bit (as /tmp): then nobody can rename or remove
 * the store's directories, and a directory someone else created first is refused. Everything
 * below trusted directories is created by trusted writers, so a check at open holds for the
 * whole tree; the store still never follows a symlink inside it (O_NOFOLLOW, lstat).
 */
import { chmod, mkdir } from 'node:fs/promises';
import { mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { failedPrecondition, notFound, wrapSystemError } from '../errors.js';
import { lstatOrUndefined } from './safe-fs.js';

const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

export interface TrustPolicy {
  root: string;
  rootUid: number;
  rootGid: number;
  /** Root is setgid and group-writable: a group store. */
  group: boolean;
  /** Mode for directories the store creates (chmod'ed explicitly in a group store). */
  dirMode: number;
  /** Mode for ingest files (data, status, owner records). */
  fileMode: number;
}

function untrusted(path: string, why: string) {
  return failedPrecondition('ERR_UNTRUSTED_STORE', `refusing to use ${path}: ${why} (see README: Trust model)`, { path });
}

const uid = () => (typeof process.getuid === 'function' ? process.getuid() : -1);

/**
 * Loads the policy of the store at `root` (an absolute, resolved path). With `create`, a
 * missing root is made; without, it is NotFound. The root itself may be reached through a
 * symlink the user chose; nothing below it is.
 */
export function loadTrust(root: string, create: boolean): TrustPolicy {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && create) {
      try {
        mkdirSync(root, { recursive: true });
      } catch (e) {
        throw wrapSystemError(e, `creating store root ${root}`, { path: root });
      }
      return loadTrust(root, false);
    }
    if (code === 'ENOENT') throw notFound('ERR_STORE_NOT_FOUND', `no store at ${root}`, { path: root });
    if (code === 'ENOTDIR') throw failedPrecondition('ERR_NOT_A_DIRECTORY', `store root ${root} is not a directory`, { path: root });
    throw wrapSystemError(err, `opening store root ${root}`, { path: root });
  }
  if (!st.isDirectory()) throw failedPrecondition('ERR_NOT_A_DIRECTORY', `store root ${root} is not a directory`, { path: root });
  if (st.mode & 0o002 && !(st.mode & S_ISVTX)) throw untrusted(root, 'it is writable by every user and not sticky');
  const group = (st.mode & S_ISGID) !== 0 && (st.mode & 0o020) !== 0;
  return {
    root,
    rootUid: st.uid,
    rootGid: st.gid,
    group,
    dirMode: group ? 0o2775 : 0o755,
    fileMode: group ? 0o664 : 0o644,
  };
}

/** Throws unless `st` (an lstat of `path`) is a directory only trusted writers can change. */
export function checkDirStats(policy: TrustPolicy, path: string, st: Stats): void {
  if (st.isSymbolicLink()) throw untrusted(path, 'it is a symbolic link');
  if (!st.isDirectory()) throw untrusted(path, 'it is not a directory');
  const me = uid();
  const ownerOk = st.uid === 0 || st.uid === me || st.uid === policy.rootUid || (policy.group && st.gid === policy.rootGid);
  if (!ownerOk) throw untrusted(path, `it is owned by uid ${st.uid}, not by root, the store's owner (uid ${policy.rootUid}) or the current user`);
  if (st.mode & 0o002) throw untrusted(path, 'it is writable by every user');
  if (st.mode & 0o020 && st.gid !== policy.rootGid) throw untrusted(path, `it is writable by group ${st.gid}, not the store's group ${policy.rootGid}`);
}

/** Checks `path` if it exists; returns whether it does. */
export function checkDirIfPresent(policy: TrustPolicy, path: string): boolean {
  const st = lstatOrUndefined(path);
  if (!st) return false;
  checkDirStats(policy, path, st);
  return true;
}

/** The store's own top-level directories, checked at open. */
export const TOP_LEVEL = ['blobs', 'ingest', 'quarantine', 'labels', 'leases', 'gc', 'uploads'] as const;

export function checkTree(policy: TrustPolicy, subdirs: readonly string[]): void {
  for (const name of TOP_LEVEL) {
    const top = join(policy.root, name);
    if (!checkDirIfPresent(policy, top) || (name !== 'blobs' && name !== 'labels')) continue;
    for (const alg of subdirs) checkDirIfPresent(policy, join(top, alg));
  }
}

/**
 * Creates a store directory (and its missing parents inside the store) with the policy's
 * mode, then checks what is there: a directory another process created meanwhile is used
 * only if it passes the same checks.
 */
export async function makeDir(policy: TrustPolicy, path: string): Promise<void> {
  let created = false;
  try {
    await mkdir(path, { mode: policy.dirMode });
    created = true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && path !== policy.root && dirname(path) !== path) {
      await makeDir(policy, dirname(path));
      return makeDir(policy, path);
    }
    if (code !== 'EEXIST') throw err;
  }
  // In a group store the umask must not strip group write: set the mode explicitly.
  if (created && policy.group) await chmod(path, policy.dirMode).catch(() => {});
  const st = lstatOrUndefined(path);
  if (!st) throw untrusted(path, 'it vanished after it was created');
  checkDirStats(policy, path, st);
}
