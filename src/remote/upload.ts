/**
 * Pushes one blob from the store to a repository.
 *
 * Guarantees:
 *   - Nothing moves that the registry has: HEAD first; then, under the (host, digest) lock
 *     of the store's upload records (upload-record.ts), HEAD again if another process held
 *     it, and a cross-repository mount when the blob is known to be in a sibling repository
 *     (earlier pushes, or the repository the image was pulled from). So concurrent pushes of
 *     images sharing layers, from any processes on one root, upload each blob once.
 *   - Verified: every byte sent is hashed on the way (blob-source.ts); the commit (PUT
 *     ?digest=) is sent only when the hash matches. A corrupt local blob fails with
 *     DataLoss and its upload is cancelled; the registry never commits it (it checks too).
 *     Small blobs (≤ monolithicMax) are read and checked whole before the first byte goes.
 *   - Resumable: large blobs go in streamed PATCH segments; after each, the upload URL and
 *     acknowledged offset are recorded, so a rerun in any process continues from the offset
 *     the registry reports for that URL (GET, Range). On abort (SIGINT) the segment in
 *     flight is ended cleanly where it is, the registry acknowledges it and the record is
 *     written before Canceled is thrown.
 *     Limit (distribution 2.x): the registry signs the offset into the upload URL and
 *     cancels an upload whose data has grown past it, which is what a segment cut off by a
 *     crash (SIGKILL) or a reset leaves; the next GET then finds the session gone and the
 *     blob starts over in a new session. Registries that keep sessions resumable resume.
 *   - Bounded retries: a failed request or broken segment is retried from the offset the
 *     registry reports, with backoff; the budget resets whenever the registry acknowledged
 *     progress, and a registry that keeps failing ends in Unavailable naming the cause.
 *   - The lock is released on every path; records are written only while it is held.
 */
import type { Store } from '../content/types.js';
import { ContentError, isKind, unavailable } from '../errors.js';
import { BlobSource, type HashAt } from './blob-source.js';
import type { RegistryClient } from './client.js';
import type { Descriptor } from './descriptor.js';
import { backoffMs, canceledBy, defaultRetry, sleep, type RetryPolicy } from './retry.js';
import { withKnown, type UploadRecord, type UploadRecords } from './upload-record.js';
import { sendSegment } from './upload-segment.js';
import { blobExists, cancelUpload, commitUpload, startUpload, uploadStatus, type Session, type Started } from './upload-session.js';

export type PushState = 'checking' | 'waiting' | 'uploading' | 'mounted' | 'exists' | 'done';

/** Blobs up to this size are uploaded in one PUT, checked whole in memory first. */
export const MONOLITHIC_MAX = 4 << 20;
/**
 * Segment size of streamed uploads (one PATCH each). Segments exist for proxies and load
 * balancers that limit request bodies; DIST_PUSH_SEGMENT_BYTES (at least 1 MiB) sets it.
 */
export const SEGMENT_BYTES = 64 << 20;

export function segmentBytes(): number {
  const v = Number(process.env.DIST_PUSH_SEGMENT_BYTES);
  return Number.isSafeInteger(v) && v >= 1 << 20 ? v : SEGMENT_BYTES;
}

export interface BlobUploadOptions {
  store: Store;
  client: RegistryClient;
  records: UploadRecords;
  repository: string;
  /** Repositories of the same registry to try mounting from (after the recorded ones). */
  mountFrom?: readonly string[];
  /** What the blob is, for messages (`layer`, `config`). */
  what?: string;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  monolithicMax?: number;
  segmentBytes?: number;
  onState?: (state: PushState, offset: number) => void;
  onProgress?: (offset: number) => void;
}

export interface BlobUploadResult {
  outcome: 'exists' | 'mounted' | 'uploaded';
  /** Bytes sent to the registry for this blob. */
  sent: number;
  /** Offset an upload continued from (> 0: resumed an earlier session). */
  resumedFrom: number;
}

export async function pushBlob(d: Descriptor, o: BlobUploadOptions): Promise<BlobUploadResult> {
  const { client, records, repository: repo } = o;
  o.onState?.('checking', 0);
  if (await blobExists(client, repo, d.digest, o.signal)) {
    o.onState?.('exists', d.size);
    return { outcome: 'exists', sent: 0, resumedFrom: 0 };
  }
  const { lock, waited } = await records.lock(client.host, d.digest, { signal: o.signal, onWait: () => o.onState?.('waiting', 0) });
  try {
    let rec = await records.read(client.host, d.digest);
    const save = async (next: UploadRecord) => {
      rec = next;
      // A lock lost to a takeover means another process owns the record now.
      if (lock.held) await records.write(next);
    };
    if (waited && (await blobExists(client, repo, d.digest, o.signal))) {
      if (!rec.repositories.includes(repo)) await save(withKnown(rec, repo));
      o.onState?.('exists', d.size);
      return { outcome: 'exists', sent: 0, resumedFrom: 0 };
    }
    const from = [...rec.repositories, ...(o.mountFrom ?? [])].find((r) => r !== repo);
    const source = await BlobSource.open(o.store, d, o.what ?? 'blob');
    try {
      const r = d.size <= (o.monolithicMax ?? MONOLITHIC_MAX)
        ? await monolithic(d, source, from, o)
        : await streamed(d, source, from, rec, save, o);
      await save(withKnown({ ...rec, session: undefined }, repo));
      o.onState?.(r.outcome === 'mounted' ? 'mounted' : 'done', d.size);
      return r;
    } catch (err) {
      // A corrupt local blob: its session (if any) was cancelled; forget it.
      if (isKind(err, 'DataLoss') && rec.session) await save({ ...rec, session: undefined }).catch(() => {});
      throw err;
    } finally {
      await source.close();
    }
  } finally {
    await lock.release().catch(() => {});
  }
}

/** Bounded retries around `attempt`; `progress()` says whether the registry acknowledged more since last time. */
async function retrying<T>(o: BlobUploadOptions, d: Descriptor, progress: () => boolean, attempt: () => Promise<T>, recover: () => Promise<void>): Promise<T> {
  const policy = o.retry ?? defaultRetry();
  let failures = 0;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (o.signal?.aborted) throw isKind(err, 'Canceled') ? err : canceledBy(o.signal);
      if (!retryable(err)) throw err;
      if (progress()) failures = 0;
      if (++failures >= policy.attempts) {
        const e = err as Error;
        throw unavailable('ERR_UPLOAD_FAILED', `blob ${d.digest}: upload to ${o.client.host}/${o.repository} failed after ${failures} tries: ${e.message}`, {
          digest: d.digest, ...(err instanceof ContentError ? { cause: err.code } : {}),
        });
      }
      await sleep(backoffMs(failures - 1, policy), o.signal);
      await recover();
    }
  }
}

/**
 * Worth another try: the registry or the link failed (Unavailable), or the session vanished
 * or was refused (NotFound, InvalidArgument: the next try asks for its state or starts a new
 * one). Never: auth refusals, local corruption, cancellation.
 */
function retryable(err: unknown): boolean {
  if (!(err instanceof ContentError)) return true;
  return err.kind === 'Unavailable' || err.kind === 'NotFound' || err.kind === 'InvalidArgument';
}

/**
 * Starts an upload, as a mount from `from` when given. A mount the credentials do not allow
 * (no pull on the source repository: 401/403) falls back to a plain upload.
 */
async function start(o: BlobUploadOptions, d: Descriptor, from: string | undefined): Promise<Started> {
  try {
    return await startUpload(o.client, o.repository, d.digest, { from, signal: o.signal });
  } catch (err) {
    if (!from || !isKind(err, 'FailedPrecondition')) throw err;
    return startUpload(o.client, o.repository, d.digest, { signal: o.signal });
  }
}

/** Small blob: checked whole, then POST (or mount) + PUT with the bytes. */
async function monolithic(d: Descriptor, source: BlobSource, from: string | undefined, o: BlobUploadOptions): Promise<BlobUploadResult> {
  const bytes = await source.read(0, d.size);
  const h = source.start();
  h.hash.update(bytes);
  h.position = bytes.length;
  source.check(h, o.what ?? 'blob');
  let sent = 0;
  let mountTried = false;
  return retrying(o, d, () => false, async () => {
    const started = await start(o, d, mountTried ? undefined : from);
    mountTried = true;
    if (started.mounted) return { outcome: 'mounted', sent, resumedFrom: 0 };
    o.onState?.('uploading', 0);
    sent += bytes.length;
    await commitUpload(o.client, o.repository, d.digest, started.session, { bytes, signal: o.signal });
    return { outcome: 'uploaded', sent, resumedFrom: 0 };
  }, async () => {});
}

/** Large blob: resume or start a session, stream segments, check, commit. */
async function streamed(
  d: Descriptor,
  source: BlobSource,
  from: string | undefined,
  rec: UploadRecord,
  save: (r: UploadRecord) => Promise<void>,
  o: BlobUploadOptions,
): Promise<BlobUploadResult> {
  const { client, repository: repo } = o;
  const what = o.what ?? 'blob';
  const remember = (s: Session | undefined) =>
    save({ ...rec, session: s ? { repository: repo, url: s.url.href, offset: s.offset, updatedAt: new Date().toISOString() } : undefined });

  let session: Session | undefined;
  let resumedFrom = 0;
  const prior = rec.session;
  // Only a session on this repository and on the registry's own origin is ours to continue.
  if (prior && prior.repository === repo && new URL(prior.url).origin === client.origin) {
    session = await uploadStatus(client, repo, d.digest, new URL(prior.url), prior.offset, o.signal);
    if (session && session.offset > d.size) session = undefined;
    resumedFrom = session?.offset ?? 0;
  }
  if (prior && !session) await remember(undefined);

  let hashed: HashAt | undefined;
  let sent = 0;
  let acknowledged = session?.offset ?? 0;
  let mountTried = false;
  const progress = () => {
    const more = (session?.offset ?? 0) > acknowledged;
    acknowledged = Math.max(acknowledged, session?.offset ?? 0);
    return more;
  };

  return retrying(o, d, progress, async () => {
    if (!session) {
      const started = await start(o, d, mountTried ? undefined : from);
      mountTried = true;
      if (started.mounted) return { outcome: 'mounted' as const, sent, resumedFrom: 0 };
      session = started.session;
      await remember(session);
    }
    if (!hashed || hashed.position !== session.offset) hashed = await source.prefix(session.offset);
    o.onState?.('uploading', session.offset);
    const per = o.segmentBytes ?? segmentBytes();
    while (session.offset < d.size) {
      // A short tail rides with the segment before it: no round trip for a few bytes.
      const end = d.size - session.offset <= per + per / 4 ? d.size : session.offset + per;
      const seg = await sendSegment(source, session, hashed, end, { client, repository: repo, digest: d.digest, signal: o.signal, onProgress: o.onProgress });
      sent += seg.sent;
      if (seg.session.offset > d.size) {
        // The registry claims more than the blob holds: that upload cannot be committed.
        await cancelUpload(client, repo, d.digest, seg.session);
        session = undefined;
        throw unavailable('ERR_UPLOAD_PROTOCOL', `blob ${d.digest}: the registry reports ${seg.session.offset} bytes uploaded, more than its ${d.size}`, {
          digest: d.digest, expected: d.size, actual: seg.session.offset,
        });
      }
      session = seg.session;
      hashed = seg.hashed.position === session.offset ? seg.hashed : await source.prefix(session.offset);
      await remember(session);
      if (o.signal?.aborted) throw canceledBy(o.signal);
    }
    try {
      source.check(hashed, what);
    } catch (err) {
      await cancelUpload(client, repo, d.digest, session);
      session = undefined;
      throw err;
    }
    try {
      await commitUpload(client, repo, d.digest, session, { signal: o.signal });
    } catch (err) {
      // A commit whose answer was lost may have landed (the retry then finds no session).
      if (isKind(err, 'NotFound') && (await blobExists(client, repo, d.digest, o.signal))) return { outcome: 'uploaded' as const, sent, resumedFrom };
      // The registry's bytes do not hash to the digest, ours did: that session is bad.
      if (isKind(err, 'InvalidArgument')) session = undefined;
      throw err;
    }
    return { outcome: 'uploaded' as const, sent, resumedFrom };
  }, async () => {
    // Whatever broke, the registry says where the session stands (or that it is gone).
    if (session) session = await uploadStatus(client, repo, d.digest, session.url, session.offset, o.signal).catch(() => undefined);
    if (session && session.offset > d.size) session = undefined;
    if (!session) await remember(undefined);
  });
}
