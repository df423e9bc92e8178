/**
 * Synchronous whole-file hashing for worker threads (a worker blocks only itself, and sync
 * reads avoid a libuv round trip per chunk — per-file overhead matters for small files).
 * Files are read in FILE_CHUNK pieces into one reused buffer per worker, so memory does not
 * grow with file size.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Algorithm } from '../digest.js';
import { invalidArgument } from '../errors.js';
import type { HashMode } from '../hash/pool.js';
import { hasher } from '../hash/wasm.js';

/** Read size inside workers: large enough for throughput, small enough for bounded RSS. */
export const FILE_CHUNK = 1024 * 1024;

let shared: Buffer | undefined;

/** The worker's reusable read buffer. */
export function chunkBuffer(): Buffer {
  shared ??= Buffer.allocUnsafeSlow(FILE_CHUNK);
  return shared;
}

export interface SyncHasher {
  update(data: Uint8Array): void;
  /** Lower-case hex. */
  hex(): string;
}

/**
 * A hasher for one file. `native` uses node:crypto (OpenSSL); blake3 always uses hash-wasm
 * (node:crypto has none). The wasm hasher is the worker's reused instance: safe because a
 * worker hashes one file at a time, synchronously.
 */
export async function fileHasher(alg: Algorithm, mode: HashMode): Promise<SyncHasher> {
  if (mode === 'native' && alg !== 'blake3') {
    const h = createHash(alg);
    return { update: (d) => h.update(d), hex: () => h.digest('hex') };
  }
  const h = await hasher(alg);
  h.init();
  return { update: (d) => h.update(d), hex: () => h.digest('hex') };
}

/** Reads until `buf` is full or EOF; returns the bytes read. */
export function readFull(fd: number, buf: Buffer, length = buf.length): number {
  let n = 0;
  while (n < length) {
    const r = readSync(fd, buf, n, length - n, null);
    if (r === 0) break;
    n += r;
  }
  return n;
}

/** Opens `path` for reading, refusing anything but a regular file. Returns fd, size and identity. */
export function openRegular(path: string, flags: number = constants.O_RDONLY): { fd: number; size: number; id: HashedFileId } {
  const fd = openSync(path, flags);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalidArgument('ERR_NOT_A_FILE', `${path} is not a regular file`, { path });
    return { fd, size: st.size, id: { dev: st.dev, ino: st.ino, birth: st.birthtimeMs, ctimeMs: st.ctimeMs, size: st.size } };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Identity of the file a hash was computed from: what a later action must still find. */
export interface HashedFileId {
  dev: number;
  ino: number;
  birth: number;
  ctimeMs: number;
  size: number;
}

/**
 * Hashes a whole file; `size` is the bytes actually read (may differ from fstat if it
 * changes); `id` is the file's identity as opened (fstat of the descriptor hashed).
 */
export async function hashFileSync(
  path: string,
  alg: Algorithm,
  mode: HashMode,
  flags?: number,
): Promise<{ hex: string; size: number; statSize: number; id: HashedFileId }> {
  const h = await fileHasher(alg, mode);
  const buf = chunkBuffer();
  const { fd, size: statSize, id } = openRegular(path, flags);
  try {
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
    return { hex: h.hex(), size, statSize, id };
  } finally {
    closeSync(fd);
  }
}
