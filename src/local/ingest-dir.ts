/**
 * Opening an ingest's files for a writer that holds the ref lock, so that one data file is
 * only ever written by one live writer.
 *
 * The status record says which writer opened the ingest last and whether it closed it. A
 * writer continues the same files only when that writer closed them or is provably dead.
 * Otherwise — the previous writer is alive (a forced takeover of a stopped process), of
 * unknown liveness (another host), unknown (no readable record), or another user owns the
 * data — the ingest is *fenced*: its directory is renamed aside (so the old writer's
 * descriptors, and anything it still writes through them, point at files nobody will
 * publish), a new directory is made, the data is copied into a new file of our own, and the
 * old directory's names are removed (its files live on only through the old descriptors).
 * Nothing the old writer does afterwards can reach the new files, and its commit, which
 * publishes only its own file (./publish.ts), never names ours.
 */
import { copyFile, lstat, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '../diagnostics.js';
import { openData, moveAside } from './ingest-io.js';
import { ownerLiveness } from './owner.js';
import { ingestRoot, type IngestPaths } from './paths.js';
import { idOf, lstatOrUndefined, privateName, sameFile, type FileId } from './safe-fs.js';
import { lockCompromised } from '../errors.js';
import { StatusFile, type StatusRecord } from './status-file.js';
import { checkDirStats, makeDir, type TrustPolicy } from './trust.js';

export interface OpenedIngest {
  dirId: FileId;
  data: FileHandle;
  dataId: FileId;
  size: number;
  status: StatusFile;
  /** The previous record of this ref, if one was readable. */
  prev?: StatusRecord;
  /** Set when the ingest was moved to new files: why. */
  fenced?: string;
}

const myUid = typeof process.getuid === 'function' ? process.getuid() : undefined;

/**
 * Why the existing files must not be reused in place, or undefined when they may be: they
 * may when there are none, when the last writer closed them, or when it is provably dead.
 */
export function fenceReason(prev: StatusRecord | undefined, hasStatus: boolean, data: { uid: number } | undefined): string | undefined {
  if (!prev) return hasStatus || data ? 'its status record is unreadable: the files may belong to a live writer' : undefined;
  if (data && myUid !== undefined && data.uid !== myUid) return `its data belongs to uid ${data.uid}`;
  if (prev.writing === false) return undefined;
  const live = ownerLiveness(prev.owner);
  if (live === 'dead') return undefined;
  const who = prev.owner ? `pid ${prev.owner.pid} on ${prev.owner.host}` : 'an unknown process';
  return `its last writer (${who}) did not close it and is ${live === 'alive' ? 'still alive' : 'of unknown liveness'}`;
}

/** The ingest directory, created or checked; anything but a trusted directory is moved aside. */
async function ensureDir(policy: TrustPolicy, paths: IngestPaths): Promise<FileId> {
  const st = lstatOrUndefined(paths.dir);
  if (st && !st.isDirectory()) await moveAside(paths.dir, ingestRoot(policy.root));
  else if (st) {
    checkDirStats(policy, paths.dir, st);
    return idOf(st);
  }
  await makeDir(policy, paths.dir);
  return idOf(await lstat(paths.dir));
}

/**
 * In a group store, files we create get the store's file mode whatever the umask, so the
 * next writer of the group can resume them.
 */
async function groupMode(policy: TrustPolicy, fh: FileHandle): Promise<void> {
  if (!policy.group) return;
  const st = await fh.stat();
  if (st.uid === myUid && (st.mode & 0o777) !== policy.fileMode) await fh.chmod(policy.fileMode);
}

async function openStatus(policy: TrustPolicy, paths: IngestPaths) {
  try {
    return await StatusFile.open(paths.status, policy.fileMode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTREGULAR' && code !== 'ELOOP' && code !== 'EISDIR' && code !== 'ENXIO') throw err;
    await moveAside(paths.status, ingestRoot(policy.root));
    return StatusFile.open(paths.status, policy.fileMode);
  }
}

/** Opens (or creates) the ingest of `ref`, fencing it first when needed. */
export async function openIngest(policy: TrustPolicy, paths: IngestPaths, ref: string): Promise<OpenedIngest> {
  let dirId = await ensureDir(policy, paths);
  const hadStatus = (lstatOrUndefined(paths.status)?.size ?? 0) > 0;
  let { file: status, record } = await openStatus(policy, paths);
  const prev = record && record.ref === ref ? record : undefined;
  const dataSt = lstatOrUndefined(paths.data);
  const reason = fenceReason(prev, hadStatus, dataSt?.isFile() ? dataSt : undefined);
  if (reason) {
    await status.close();
    const aside = privateName(ingestRoot(policy.root), `fenced-${paths.key.slice(0, 16)}`);
    await rename(paths.dir, aside);
    dirId = await ensureDir(policy, paths);
    const old = join(aside, 'data');
    // Prune may remove the moved-aside copy meanwhile (it is debris): then start afresh.
    if (lstatOrUndefined(old)?.isFile()) {
      await copyFile(old, paths.data).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    // The old files need no name any more: a writer still holding them keeps them through
    // its descriptors, and nothing of theirs will be published.
    await rm(aside, { recursive: true, force: true }).catch(() => {});
    ({ file: status } = await openStatus(policy, paths));
    diag.ingestFence.publish({ ref, reason });
  }
  let data: Awaited<ReturnType<typeof openData>> | undefined;
  try {
    data = await openData(paths.data, policy.fileMode, ingestRoot(policy.root));
    await groupMode(policy, data.fh);
    await groupMode(policy, status.handle);
    // Everything above acted on names. If another writer moved this directory meanwhile
    // (it took the ref over while we were paused), what we opened may be its files: give up
    // before writing a byte.
    const now = lstatOrUndefined(paths.dir);
    if (!now || !sameFile(idOf(now), dirId)) {
      throw lockCompromised('ERR_INGEST_MOVED', `ingest of ref ${JSON.stringify(ref)} was taken over while it was being opened`, { ref });
    }
    return { dirId, data: data.fh, dataId: data.id, size: data.size, status, prev, fenced: reason };
  } catch (err) {
    await data?.fh.close().catch(() => {});
    await status.close().catch(() => {});
    throw err;
  }
}
