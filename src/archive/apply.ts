/**
 * Layer apply: a tar, tar+gzip or tar+zstd layer streamed into a directory, with OCI
 * whiteouts, hard links, symlinks, modes, mtimes, owners (when root) and device nodes (when
 * root; skipped with a warning otherwise). The uncompressed digest (the diffID) is computed
 * over every uncompressed byte as the layer streams through and checked at the end: a
 * mismatch is DataLoss, and the caller (unpack) then discards the directory.
 *
 * Nothing is written outside `dir`: names are checked (names.ts) and every parent is
 * resolved inside the root (tree.ts); the entries are written by applier.ts. Memory holds
 * the parser's read-ahead (8 MiB), the set of paths this layer created and the directories
 * whose attributes are set last.
 */
import { createHash } from 'node:crypto';
import { extract, type Header } from 'tar-stream';
import { ContentError, dataLoss, wrapSystemError } from '../errors.js';
import { Applier, type Source } from './applier.js';
import { decompress, type Compression } from './decompress.js';

export interface ApplyOptions {
  /** Expected diffID (`sha256:…` of the uncompressed tar); a mismatch is DataLoss. */
  expectedDiffId?: string;
  /** Apply owners and create device nodes (default: when running as root). */
  privileged?: boolean;
  /** Called once per kind of thing that could not be applied (device nodes, xattrs). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface ApplyResult {
  diffId: string;
  /** Uncompressed bytes. */
  size: number;
  compression: Compression;
  entries: number;
  warnings: string[];
}

/** Resolves when `ex` wants more data or is gone (an entry failed): never hangs on a dead parser. */
function writable(ex: { once(e: string, f: () => void): unknown; off(e: string, f: () => void): unknown }): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      ex.off('drain', done);
      ex.off('close', done);
      resolve();
    };
    ex.once('drain', done);
    ex.once('close', done);
  });
}

/**
 * Applies the layer read from `source` to `dir` (which must exist). Resolves once every
 * entry is on disk and the diffID checked.
 */
export async function applyLayer(dir: string, source: AsyncIterable<Uint8Array>, options: ApplyOptions = {}): Promise<ApplyResult> {
  const privileged = options.privileged ?? process.getuid?.() === 0;
  const applier = new Applier(dir, { ...options, privileged });
  const hash = createHash('sha256');
  let size = 0;
  let compression: Compression = 'none';
  // Read-ahead: the next megabytes are read and parsed while the current file is written.
  const ex = extract({ highWaterMark: 8 << 20 });
  const feed = (async () => {
    const d = await decompress(source as AsyncIterable<Buffer>);
    compression = d.compression;
    try {
      // Every uncompressed byte is hashed, including what follows the end-of-archive blocks.
      for await (const chunk of d.tar) {
        options.signal?.throwIfAborted();
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (!ex.write(chunk)) await writable(ex);
        if (ex.destroyed) {
          d.tar.destroy();
          return;
        }
      }
    } catch (err) {
      if (err instanceof ContentError || options.signal?.aborted) throw err;
      throw dataLoss('ERR_CORRUPT_LAYER', `corrupt ${compression} layer data: ${(err as Error).message}`, { actual: compression });
    }
    (ex as unknown as { end(): void }).end();
  })();
  feed.catch((err) => ex.destroy(err));
  try {
    for await (const entry of ex as unknown as AsyncIterable<Source & { header: Header }>) {
      await applier.entry(entry.header, entry);
    }
    await feed;
    await applier.finish();
  } catch (err) {
    ex.destroy(err as Error);
    // No write may still be running once the caller hears of the failure (it may delete the tree).
    await applier.settle().catch(() => {});
    // The cause, not its echo: an interrupt or corrupt input stops the feeder first and the
    // entry being written then sees only a destroyed stream ("premature close").
    const fed = await feed.then(() => undefined, (e: unknown) => e);
    if (options.signal?.aborted) throw options.signal.reason ?? err;
    if (fed instanceof ContentError) throw fed;
    if (err instanceof ContentError) throw err;
    const msg = (err as Error).message ?? String(err);
    if (/tar|header|checksum|Unexpected end/i.test(msg) && !(err as NodeJS.ErrnoException).syscall) {
      throw dataLoss('ERR_CORRUPT_LAYER', `layer is not a valid tar archive: ${msg}`, {});
    }
    throw wrapSystemError(err, `applying layer to ${dir}`, { path: dir });
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  if (options.expectedDiffId !== undefined && options.expectedDiffId !== diffId) {
    throw dataLoss('ERR_DIFF_ID_MISMATCH', `layer diffID mismatch: expected ${options.expectedDiffId}, got ${diffId}`, { expected: options.expectedDiffId, actual: diffId });
  }
  return { diffId, size, compression, entries: applier.entries, warnings: applier.warnings };
}
