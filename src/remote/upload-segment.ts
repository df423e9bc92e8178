/**
 * One streamed segment of an upload (a PATCH): the bytes [from, end) of a stored blob, read
 * one chunk ahead and hashed on the way (the hash carried in and out as a `HashAt`, so the
 * caller can verify the whole blob before its commit).
 *
 * Guarantees: an abort (SIGINT) ends the body cleanly where it is — the registry then
 * acknowledges what it received, a valid prefix — and the request itself is destroyed only
 * if that takes longer than ABORT_GRACE_MS; a request re-sent after an auth round starts
 * over from the same bytes and hash; a write never waits on a request that can no longer
 * emit 'drain' (which would leave a promise nothing settles, and Node exit 0 mid-push).
 */
import type { ClientRequest } from 'node:http';
import { ContentError } from '../errors.js';
import { READ_CHUNK, type BlobSource, type HashAt } from './blob-source.js';
import type { RegistryClient } from './client.js';
import { canceledBy } from './retry.js';
import { patchSegment, type Session } from './upload-session.js';

/** After an abort, how long the segment in flight may take to be acknowledged. */
export const ABORT_GRACE_MS = 5_000;

export interface SegmentOptions {
  client: RegistryClient;
  repository: string;
  digest: string;
  signal?: AbortSignal;
  onProgress?: (offset: number) => void;
}

export interface Segment {
  session: Session;
  hashed: HashAt;
  sent: number;
}

/**
 * One PATCH of bytes [h.position, end). The request is not tied to the caller's signal: an
 * abort ends the body cleanly where it is (the registry then acknowledges what it got), and
 * only if that takes longer than ABORT_GRACE_MS is the request destroyed.
 */
export async function sendSegment(source: BlobSource, s: Session, h: HashAt, end: number, o: SegmentOptions): Promise<Segment> {
  const outer = o.signal;
  if (outer?.aborted) throw canceledBy(outer);
  const grace = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    timer = setTimeout(() => grace.abort(outer!.reason), ABORT_GRACE_MS);
  };
  outer?.addEventListener('abort', onAbort, { once: true });

  let sent = 0;
  let position = h.position;
  let last: Promise<HashAt> | undefined;
  // Called once per request sent (again after an auth round): each run starts over from `h`.
  const body = (req: ClientRequest) => {
    position = h.position;
    const run = writeBody(req, source, { position: h.position, hash: h.hash.copy() }, end, outer, (n, pos) => {
      sent += n;
      position = pos;
      o.onProgress?.(pos);
    });
    run.catch((err) => req.destroy(err));
    last = run;
  };
  try {
    let session: Session;
    try {
      session = await patchSegment(o.client, o.repository, o.digest, s, body, () => position, grace.signal);
    } catch (err) {
      // A failure of our own (a corrupt or unreadable local blob) beats the request error it caused.
      const own = await last?.then(() => undefined, (e: unknown) => e);
      throw own instanceof ContentError ? own : err;
    }
    return { session, hashed: await last!, sent };
  } finally {
    outer?.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
  }
}

/**
 * Streams [at.position, end) into `req`, hashing as it goes, one read ahead; ends the
 * request when done or when `signal` aborts (cleanly: what was written is a valid prefix).
 * Stops without ending when the request fails.
 */
async function writeBody(req: ClientRequest, source: BlobSource, at: HashAt, end: number, signal: AbortSignal | undefined, onWrite: (n: number, position: number) => void): Promise<HashAt> {
  // The server may answer (and close) before reading everything: stop writing then.
  let broken = false;
  const onBroken = () => (broken = true);
  req.on('error', onBroken);
  req.on('close', onBroken);
  const readAt = (p: number) => (p < end ? source.read(p, Math.min(READ_CHUNK, end - p)) : undefined);
  let ahead = readAt(at.position);
  try {
    while (ahead && !broken && !signal?.aborted) {
      const chunk = await ahead;
      if (broken || req.destroyed) break;
      ahead = readAt(at.position + chunk.length);
      at.hash.update(chunk);
      at.position += chunk.length;
      onWrite(chunk.length, at.position);
      if (!req.write(chunk)) await drained(req, signal);
    }
  } finally {
    ahead?.catch(() => {});
    req.off('error', onBroken);
    req.off('close', onBroken);
  }
  if (!broken) req.end();
  return at;
}

/**
 * Resolves on 'drain', or as soon as waiting is pointless (request gone, abort). A request
 * already destroyed emits nothing more: waiting on it would leave a promise nothing settles,
 * and Node exits (0!) when only such promises remain.
 */
function drained(req: ClientRequest, signal: AbortSignal | undefined): Promise<void> {
  if (req.destroyed || req.writableEnded || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      req.off('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    req.once('drain', done);
    req.once('close', done);
    req.once('error', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
