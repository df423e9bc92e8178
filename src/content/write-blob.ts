/**
 * writeBlob: copy a source into the store under a ref, resuming whatever the ref already
 * holds. Store-agnostic: works with any Store implementation.
 *
 * How a partial ingest at offset N is continued depends on what the source can do:
 *   ranged reads ({read(position, length)}) → read from N
 *   seek ({seek(n)} + iterable)            → seek to N, then stream
 *   restart only (a function → iterable)   → truncate(0) and copy from the start
 *   plain stream / async iterable          → discard the first N bytes, then append
 * AlreadyExists (at open or at commit) counts as success.
 */
import type { Readable } from 'node:stream';
import { isKind } from '../errors.js';
import { skipBytes } from './skip-bytes.js';
import type { Store, Writer } from './types.js';

export interface RangedSource {
  size?: number;
  read(position: number, length: number): Promise<Uint8Array>;
}

export interface SeekableSource extends AsyncIterable<Uint8Array> {
  seek(offset: number): Promise<void> | void;
}

/** A source that can only start over: each call yields the whole content from byte 0. */
export type RestartableSource = () => AsyncIterable<Uint8Array> | Readable;

export type BlobSource = Readable | AsyncIterable<Uint8Array> | RangedSource | SeekableSource | RestartableSource;

export interface WriteBlobOptions {
  size?: number;
  expected?: string;
  /** Wait for a held ref (see WriterOptions.wait). */
  wait?: boolean | number;
  signal?: AbortSignal;
  /** Bytes per write and per ranged read (default 1 MiB). */
  chunkSize?: number;
  /**
   * Called with the digest before the blob is relied on: before the writer opens when the
   * digest is expected (an AlreadyExists answer then stays true), else once the data is
   * written and before the commit. A lease's protect (src/metadata/with-lease.ts).
   */
  protect?: (digest: string) => Promise<void>;
}

export interface WriteBlobResult {
  digest: string;
  /** The content was already present (nothing was committed by this call). */
  existed: boolean;
  /** Bytes this call wrote (0 when resumed data already covered everything). */
  written: number;
}

function isRanged(s: BlobSource): s is RangedSource {
  return typeof s === 'object' && s !== null && typeof (s as RangedSource).read === 'function' && !(Symbol.asyncIterator in s);
}
function isSeekable(s: BlobSource): s is SeekableSource {
  return typeof s === 'object' && s !== null && typeof (s as SeekableSource).seek === 'function';
}

/**
 * Yields `source`'s chunks until `signal` aborts. The abort wins even while a read is
 * blocked (a stalled pipe), so an interrupted ingest can close at once.
 *
 * Each read gets its own abort listener, removed when the read settles. (Racing every
 * read against one long-lived "aborted" promise leaks: each race leaves a reaction on it
 * that holds the chunk, so a 4 GiB stream kept 4 GiB alive.)
 */
async function* abortable(source: AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (!signal) return yield* source;
  const it = source[Symbol.asyncIterator]();
  const nextOrAbort = () =>
    new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      it.next().then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  try {
    for (;;) {
      const r = await nextOrAbort();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    void it.return?.()?.catch?.(() => {});
  }
}

/** A slow source's bytes reach the ingest (and `dist active`) at least this often. */
const FLUSH_MS = 200;

/**
 * Coalesces small chunks (pipes deliver 64 KiB) into `size`-byte writes: per-write costs
 * (a syscall, a hash task) are then paid per MiB, not per pipe buffer. One reusable
 * buffer: Writer.write copies what it keeps before resolving. Whatever the source
 * delivered is written even when the source then fails or is aborted: a resume must
 * never lose bytes already taken from a stream.
 */
async function appendAll(w: Writer, source: AsyncIterable<Uint8Array>, skip: number, signal?: AbortSignal, size = 1 << 20): Promise<number> {
  let written = 0;
  const buf = Buffer.allocUnsafe(size);
  let fill = 0;
  let lastFlush = Date.now();
  const flush = async () => {
    lastFlush = Date.now();
    if (fill === 0) return;
    await w.write(buf.subarray(0, fill));
    written += fill;
    fill = 0;
  };
  try {
    for await (const chunk of skipBytes(abortable(source, signal), skip)) {
      let c = chunk;
      if (fill === 0 && c.byteLength >= size) {
        await w.write(c);
        written += c.byteLength;
        continue;
      }
      while (c.byteLength > 0) {
        const n = Math.min(c.byteLength, size - fill);
        buf.set(c.subarray(0, n), fill);
        fill += n;
        c = c.subarray(n);
        if (fill === size) await flush();
      }
      if (Date.now() - lastFlush >= FLUSH_MS) await flush();
    }
  } catch (err) {
    await flush().catch(() => {});
    throw err;
  }
  await flush();
  return written;
}

/** Sources that can deliver their content again from byte 0. */
function canRestart(source: BlobSource): boolean {
  return typeof source === 'function' || isRanged(source) || isSeekable(source);
}

/** Copies `source` from `offset` (the writer's current offset) to the end; returns bytes written. */
async function copy(w: Writer, source: BlobSource, offset: number, options: WriteBlobOptions): Promise<number> {
  const { size, signal } = options;
  if (typeof source === 'function') {
    if (offset > 0) await w.truncate(0);
    return appendAll(w, source() as AsyncIterable<Uint8Array>, 0, signal, options.chunkSize);
  }
  if (isRanged(source)) {
    let written = 0;
    const end = size ?? source.size ?? Infinity;
    const step = options.chunkSize ?? 1 << 20;
    for (let pos = offset; pos < end; ) {
      signal?.throwIfAborted();
      const chunk = await source.read(pos, Math.min(step, end - pos));
      if (chunk.byteLength === 0) break;
      await w.write(chunk);
      pos += chunk.byteLength;
      written += chunk.byteLength;
    }
    return written;
  }
  if (isSeekable(source)) {
    await source.seek(offset);
    return appendAll(w, source, 0, signal, options.chunkSize);
  }
  return appendAll(w, source as AsyncIterable<Uint8Array>, offset, signal, options.chunkSize);
}

export async function writeBlob(store: Store, ref: string, source: BlobSource, options: WriteBlobOptions = {}): Promise<WriteBlobResult> {
  // Resumed bytes that turn out wrong — a prefix that does not match its checkpoint
  // (DataLoss ERR_RESUME_CORRUPT: the writer already discarded it), or resumed data whose
  // digest is not the expected one — are written again from byte 0, once, by a source that
  // can start over. A plain stream cannot deliver the bytes it already gave: the error
  // reaches the caller (and the ingest can be aborted or rerun).
  const attempt = { resumedFrom: 0 };
  try {
    return await writeOnce(store, ref, source, options, false, attempt);
  } catch (err) {
    const corrupt = isKind(err, 'DataLoss') && err.code === 'ERR_RESUME_CORRUPT';
    const badResume = isKind(err, 'FailedPrecondition') && err.code === 'ERR_DIGEST_MISMATCH' && attempt.resumedFrom > 0;
    if (!(corrupt || badResume) || !canRestart(source)) throw err;
    return writeOnce(store, ref, source, options, true, attempt);
  }
}

async function writeOnce(
  store: Store,
  ref: string,
  source: BlobSource,
  options: WriteBlobOptions,
  fromZero: boolean,
  attempt: { resumedFrom: number },
): Promise<WriteBlobResult> {
  const { size, expected, signal } = options;
  if (expected && options.protect) await options.protect(expected);
  let w: Writer;
  try {
    w = await store.writer({ ref, total: size, expected, wait: options.wait, signal });
  } catch (err) {
    if (isKind(err, 'AlreadyExists') && expected) return { digest: expected, existed: true, written: 0 };
    throw err;
  }
  let written = 0;
  try {
    let offset = (await w.status()).offset;
    if ((size !== undefined && offset > size) || (fromZero && offset > 0)) {
      await w.truncate(0);
      offset = 0;
    }
    attempt.resumedFrom = offset;
    written = await copy(w, source, offset, options);
    // An interrupted source may simply end early: never commit what it cut short.
    signal?.throwIfAborted();
    if (!expected && options.protect) await options.protect(await w.digest());
    const digest = await w.commit({ size, expected });
    return { digest, existed: false, written };
  } catch (err) {
    if (isKind(err, 'AlreadyExists')) {
      const digest = expected ?? (err.details.digest as string);
      return { digest, existed: true, written };
    }
    throw err;
  } finally {
    // After commit (either outcome) close is a no-op; otherwise it keeps the partial data.
    await w.close().catch(() => {});
  }
}
