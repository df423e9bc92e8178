/**
 * Publishing a verified ingest under its digest, and removing the ingest afterwards, acting
 * only on the writer's own files (by identity, never by a name alone).
 *
 * Publish: the data's name is first hard-linked to a name private to this writer, and that
 * private name is checked to be the very file the writer has open (device, inode, birth
 * time). Only then is the private name linked to `blobs/<alg>/<hex>`. A writer that was
 * fenced (./ingest-dir.ts) finds another file behind the data's name and publishes nothing;
 * whatever the timing, the file that gets the blob's name is one whose every byte this
 * writer wrote and hashed. link() never replaces an existing name, so concurrent commits of
 * one digest are safe.
 *
 * Cleanup: the ingest directory is renamed to a private name, checked to be the directory
 * this writer opened, and only then removed; another writer's directory is put back.
 */
import { link, lstat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { alreadyExists, lockCompromised } from '../errors.js';
import { crashpoint } from '../testing/crashpoint.js';
import { idOf, privateName, removeIfSame, sameFile, type FileId } from './safe-fs.js';
import { checkDirStats, makeDir, type TrustPolicy } from './trust.js';

export interface PublishRequest {
  ref: string;
  digest: string;
  /** The data's name in the ingest directory, and the file the writer has open. */
  dataPath: string;
  data: FileHandle;
  /** Where private names are made (the ingest root: same file system as the blobs). */
  scratchDir: string;
  target: string;
}

/**
 * Links the writer's own data file to `target` (not yet durable: the caller fsyncs the blob
 * directory). Throws before linking, or AlreadyExists when the name is taken.
 */
export async function publish(policy: TrustPolicy, req: PublishRequest): Promise<void> {
  const mine = idOf(await req.data.stat());
  const lost = (why: string) =>
    lockCompromised('ERR_LOCK_COMPROMISED', `ref ${JSON.stringify(req.ref)} was taken over (${why}): nothing was published`, {
      ref: req.ref,
      digest: req.digest,
    });
  const priv = privateName(req.scratchDir, 'commit');
  try {
    await link(req.dataPath, priv);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw lost('its data is gone');
    throw err;
  }
  try {
    if (!sameFile(idOf(await lstat(priv)), mine)) throw lost('its data was replaced');
    crashpoint('commit:before-link');
    await linkInto(policy, priv, req.target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw alreadyExists('ERR_BLOB_EXISTS', `content with digest ${req.digest} already exists`, { ref: req.ref, digest: req.digest });
    }
    throw err;
  } finally {
    await unlink(priv).catch(() => {});
  }
}

/** link(), creating the blob directory on first use; only ever into a real, trusted directory. */
async function linkInto(policy: TrustPolicy, from: string, target: string): Promise<void> {
  const dir = dirname(target);
  const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    return undefined;
  });
  if (st) checkDirStats(policy, dir, st);
  else await makeDir(policy, dir);
  await link(from, target);
}

/** Removes the ingest directory `dirId` at `dir` (and its files); leaves anyone else's. */
export async function removeIngestDir(dir: string, dirId: FileId, scratchDir: string): Promise<void> {
  await removeIfSame(dir, dirId, scratchDir);
}
