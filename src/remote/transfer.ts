/**
 * Downloads one blob into the store under a ref, resuming a partial ingest.
 *
 * Guarantees:
 *   - Content already in the store is never downloaded (AlreadyExists at writer open), and a
 *     ref held by another process is waited on, after which the blob is usually present:
 *     two pulls of one image move each blob once.
 *   - A partial ingest continues from its offset with `Range: bytes=OFFSET-`. Bytes are
 *     appended only for a 206 whose Content-Range starts at OFFSET; a 200 means the server
 *     ignored Range, so the ingest is truncated and restarts from zero; other answers are
 *     errors (client.openBlob).
 *   - A stream that breaks (reset, premature close, timeout) is reopened with backoff from
 *     the new offset; the budget resets whenever a try made progress (so a flaky link still
 *     finishes, and a dead one fails after RetryPolicy.attempts tries). Failed requests
 *     (5xx, refused connections) are retried inside the client (client.ts).
 *   - Nothing unverified is committed: more bytes than the descriptor's size fail at once,
 *     and the digest is checked before commit (the store checks again). A mismatch after a
 *     resume retries once from zero (the old partial may be what was wrong); otherwise the
 *     ingest is truncated (so the next run starts clean) and DataLoss is thrown.
 *   - Every exit path releases the ref: close() keeps partial data for the next run.
 */
import type { Store, Writer } from '../content/types.js';
import { ContentError, dataLoss, isKind } from '../errors.js';
import type { RegistryClient } from './client.js';
import type { Descriptor } from './descriptor.js';
import { backoffMs, canceledBy, defaultRetry, isRetryableError, sleep, type RetryPolicy } from './retry.js';

export type BlobState = 'resolving' | 'waiting' | 'downloading' | 'exists' | 'done';

export interface TransferOptions {
  signal?: AbortSignal;
  retry?: RetryPolicy;
  onState?: (state: BlobState, offset: number) => void;
  onProgress?: (offset: number) => void;
  /** Write size: network chunks are coalesced up to this many bytes per store write. */
  writeChunk?: number;
}

export interface TransferResult {
  existed: boolean;
  /** Bytes received from the network for this blob. */
  received: number;
  /** Offset the first request started from (> 0: resumed). */
  resumedFrom: number;
}

/** Opens the writer, reporting 'waiting' only when another process actually holds the ref. */
async function openWriter(store: Store, ref: string, d: Descriptor, o: TransferOptions): Promise<Writer | undefined> {
  const options = { ref, total: d.size, expected: d.digest, signal: o.signal };
  try {
    return await store.writer({ ...options, wait: false });
  } catch (err) {
    if (isKind(err, 'AlreadyExists')) return undefined;
    if (!isKind(err, 'Unavailable')) throw err;
  }
  o.onState?.('waiting', 0);
  try {
    return await store.writer({ ...options, wait: true });
  } catch (err) {
    if (isKind(err, 'AlreadyExists')) return undefined;
    throw err;
  }
}

export async function transferBlob(
  store: Store,
  client: RegistryClient,
  repository: string,
  d: Descriptor,
  ref: string,
  o: TransferOptions = {},
): Promise<TransferResult> {
  const w = await openWriter(store, ref, d, o);
  if (!w) {
    o.onState?.('exists', d.size);
    return { existed: true, received: 0, resumedFrom: 0 };
  }
  let committed = false;
  try {
    const r = await download(client, repository, d, w, o);
    try {
      await w.commit({ size: d.size, expected: d.digest });
    } catch (err) {
      if (!isKind(err, 'AlreadyExists')) throw err;
    }
    committed = true;
    o.onState?.('done', d.size);
    return r;
  } finally {
    if (!committed) await w.close().catch(() => {});
  }
}

async function download(client: RegistryClient, repository: string, d: Descriptor, w: Writer, o: TransferOptions): Promise<TransferResult> {
  const retry = o.retry ?? defaultRetry();
  const chunk = o.writeChunk ?? 1 << 20;
  let offset = (await w.status()).offset;
  if (offset > d.size) {
    await w.truncate(0);
    offset = 0;
  }
  const resumedFrom = offset;
  let received = 0;
  let failures = 0;
  let restartedForDigest = false;
  for (;;) {
    if (offset < d.size) {
      o.onState?.('downloading', offset);
      const before = offset;
      try {
        const stream = await client.openBlob(repository, d.digest, { offset, signal: o.signal });
        if (stream.status === 200 && offset > 0) {
          // The server ignored Range: what we hold cannot be continued from this answer.
          await w.truncate(0);
          offset = 0;
          o.onProgress?.(0);
        }
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = async () => {
          if (pendingBytes === 0) return;
          const bufs = pending;
          const n = pendingBytes;
          pending = [];
          pendingBytes = 0;
          // The socket's buffers as they came (a vectored write), not coalesced by a copy.
          if (bufs.length === 1) await w.write(bufs[0]!);
          else if (w.writev) await w.writev(bufs);
          else await w.write(Buffer.concat(bufs, n));
          o.onProgress?.(offset);
        };
        try {
          for await (const c of stream.body as AsyncIterable<Buffer>) {
            if (offset + c.length > d.size) {
              stream.body.destroy();
              throw tooLong(d, offset + c.length);
            }
            offset += c.length;
            received += c.length;
            pending.push(c);
            pendingBytes += c.length;
            if (pendingBytes >= chunk) await flush();
          }
        } catch (err) {
          // Bytes that arrived before a failure are a valid prefix to resume from (they are
          // verified with the rest before commit), also on SIGINT. A failing flush must not
          // hide the cause.
          await flush().catch(() => {});
          throw err;
        }
        await flush();
        if (offset < d.size) {
          throw Object.assign(new Error(`connection closed at ${offset} of ${d.size} bytes`), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
        }
      } catch (err) {
        if (o.signal?.aborted) throw canceledBy(o.signal);
        offset = (await w.status()).offset;
        // Failed requests were retried by the client already; here only broken streams are.
        const retryable = !(err instanceof ContentError) && isRetryableError(err);
        if (offset > before) failures = 0;
        if (!retryable || ++failures >= retry.attempts) throw asContentError(err, d, offset);
        await sleep(backoffMs(failures - 1, retry), o.signal);
        continue;
      }
    }
    const actual = await w.digest();
    if (actual === d.digest) return { existed: false, received, resumedFrom };
    await w.truncate(0);
    offset = 0;
    if (resumedFrom > 0 && !restartedForDigest) {
      restartedForDigest = true; // the partial from an earlier run may be the bad part
      continue;
    }
    throw dataLoss('ERR_DIGEST_MISMATCH', `blob ${d.digest} (ref ${w.ref}): downloaded content has digest ${actual}; nothing committed`, {
      ref: w.ref, digest: d.digest, expected: d.digest, actual,
    });
  }
}

function tooLong(d: Descriptor, got: number) {
  return dataLoss('ERR_SIZE_MISMATCH', `blob ${d.digest}: server sent more than the ${d.size} bytes its descriptor declares`, {
    digest: d.digest, expected: d.size, actual: got,
  });
}

function asContentError(err: unknown, d: Descriptor, offset: number): ContentError {
  if (err instanceof ContentError) return err;
  const e = err as NodeJS.ErrnoException;
  return new ContentError('Unavailable', 'ERR_TRANSFER_FAILED', `blob ${d.digest}: transfer failed at ${offset} of ${d.size} bytes: ${e.message}`, {
    digest: d.digest, errno: e.code, actual: offset, expected: d.size,
  });
}
