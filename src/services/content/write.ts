/**
 * The Write stream (containerd 1.6's semantics, message for message): the first message
 * names the ref (and may predeclare total and expected); the ref is held — the store's
 * on-disk lock — for the whole session; every message is answered. Actions:
 *   STAT    the ingest's offset, digest so far, total, start and update times
 *   WRITE   append `data` at `offset`: an offset > 0 must be the current one (OutOfRange
 *           otherwise); offset 0 on a non-empty ingest truncates it first (restart)
 *   COMMIT  a WRITE, then verify size (total) and digest (expected) and publish; labels
 *           given here become the blob's labels; the session ends
 * A later message's `expected` naming content already present ends the session with
 * AlreadyExists (the ingest is discarded, as containerd does). When the client half-closes,
 * goes away (killed, disconnected) or the server shuts down, the ref is released and the
 * partial data kept: the next writer on the ref resumes it.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Writer } from '../../content/types.js';
import { parseDigest } from '../../digest.js';
import { alreadyExists, invalidArgument, OUT_OF_RANGE_CODE, unavailable } from '../../errors.js';
import { validateLabels } from '../../local/labels.js';
import { callContext, type CallContext, type MetadataCtor } from '../call.js';
import { toTimestamp } from '../convert.js';
import { toServiceError } from '../grpc-errors.js';
import type { WriteRequest, WriteResponse } from '../messages.js';
import type { ContentBacking } from './backing.js';

/** Open Write sessions, so that a shutdown can release their refs before it exits. */
export class WriteSessions {
  private readonly open = new Map<AbortController, Promise<void>>();
  private closing = false;

  get size(): number {
    return this.open.size;
  }

  track(run: (signal: AbortSignal) => Promise<void>): void {
    if (this.closing) throw unavailable('ERR_SHUTTING_DOWN', 'the server is shutting down', {});
    const c = new AbortController();
    const done = run(c.signal).finally(() => this.open.delete(c));
    this.open.set(c, done);
  }

  /** Resolves when every session has ended by itself. */
  async drained(): Promise<void> {
    while (this.open.size) await Promise.allSettled([...this.open.values()]);
  }

  /** Refuses new sessions; ends the open ones (refs released, data kept). */
  async release(): Promise<void> {
    this.closing = true;
    for (const c of this.open.keys()) c.abort();
    await this.drained();
  }
}

/** The next request, or done when the client half-closed, went away, or `signal` fired. */
function requests(call: ServerDuplexStream<WriteRequest, WriteResponse>, signal: AbortSignal) {
  const it = call.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
  let gone = false;
  call.once('cancelled', () => (gone = true));
  const done = { done: true as const, value: undefined };
  return {
    get gone() {
      return gone;
    },
    next(): Promise<IteratorResult<WriteRequest>> {
      if (gone || signal.aborted) return Promise.resolve(done);
      // One listener per read, removed when it settles (a listener on a long-lived promise
      // would keep every request's data alive).
      return new Promise((resolve, reject) => {
        const stop = () => resolve(done);
        call.once('cancelled', stop);
        signal.addEventListener('abort', stop, { once: true });
        it.next().then(
          (r) => {
            call.off('cancelled', stop);
            signal.removeEventListener('abort', stop);
            resolve(r as IteratorResult<WriteRequest>);
          },
          (e) => {
            call.off('cancelled', stop);
            signal.removeEventListener('abort', stop);
            if (gone) resolve(done);
            else reject(e);
          },
        );
      });
    },
  };
}

function send(call: ServerDuplexStream<WriteRequest, WriteResponse>, msg: WriteResponse): Promise<void> {
  if (call.write(msg)) return Promise.resolve();
  return new Promise((resolve) => {
    const go = () => (call.off('drain', go), call.off('cancelled', go), resolve());
    call.once('drain', go);
    call.once('cancelled', go);
  });
}

export function handleWrite(call: ServerDuplexStream<WriteRequest, WriteResponse>, backing: ContentBacking, Md: MetadataCtor, sessions: WriteSessions): void {
  try {
    sessions.track((signal) => session(call, backing, Md, signal));
  } catch (err) {
    call.emit('error', toServiceError(err, Md, 'Write'));
  }
}

async function session(call: ServerDuplexStream<WriteRequest, WriteResponse>, backing: ContentBacking, Md: MetadataCtor, signal: AbortSignal): Promise<void> {
  const reqs = requests(call, signal);
  let writer: Writer | undefined;
  let ref = '';
  let ctx: CallContext | undefined;
  try {
    ctx = callContext(call.metadata);
    const first = await reqs.next();
    if (first.done) return void (reqs.gone || call.end());
    let req = first.value;
    ref = req.ref ?? '';
    if (!ref) throw invalidArgument('ERR_INVALID_REF', 'first message must have a reference', {});
    let total = req.total;
    let expected = req.expected ? parseDigest(req.expected).digest : undefined;
    if (ctx.lease) {
      // Found content joins the lease in the same read section that found it.
      if (expected && (await backing.leaseIfPresent(ctx.lease, expected))) {
        throw alreadyExists('ERR_BLOB_EXISTS', `content with digest ${expected} already exists`, { ref, digest: expected });
      }
      await backing.leaseIngest(ctx.lease, ref);
    }
    const w = await backing.store.writer({ ref, total, expected, ...(req.algorithm ? { algorithm: req.algorithm as never } : {}) });
    writer = w;

    for (;;) {
      const action = req.action ?? 'STAT';
      const ws = await w.status();
      const msg: WriteResponse = { action, offset: ws.offset };
      if (req.expected) {
        expected = parseDigest(req.expected).digest;
        const present = ctx.lease ? await backing.leaseIfPresent(ctx.lease, expected) : await backing.exists(expected);
        if (present) {
          writer = undefined;
          await w.close();
          await backing.store.abort(ref).catch(() => {});
          throw alreadyExists('ERR_BLOB_EXISTS', `blob with expected digest ${expected} exists`, { ref, digest: expected });
        }
      }
      if (req.total !== undefined) total = req.total;

      if (action === 'STAT') {
        msg.digest = await w.digest();
        msg.startedAt = toTimestamp(ws.startedAt);
        msg.updatedAt = toTimestamp(ws.updatedAt);
        if (total !== undefined) msg.total = total;
        else if (ws.total !== undefined) msg.total = ws.total;
        if (ws.expected) msg.expected = ws.expected;
      } else {
        const offset = req.offset ?? 0;
        if (offset > 0 && offset !== ws.offset) {
          throw invalidArgument(OUT_OF_RANGE_CODE, `write @${offset} must occur at current offset ${ws.offset} (ref ${JSON.stringify(ref)})`, {
            ref,
            expected: ws.offset,
            actual: offset,
          });
        }
        if (offset === 0 && ws.offset > 0) {
          await w.truncate(0);
          msg.offset = 0;
        }
        const data = req.data;
        if (data && data.length > 0) {
          await w.write(data);
          msg.offset! += data.length;
        }
        if (action === 'COMMIT') {
          const labels = validateLabels(req.labels ?? {}, expected ?? `ref ${JSON.stringify(ref)}`); // before anything is published
          if (ctx.lease) await backing.leaseContent(ctx.lease, expected ?? (await w.digest()));
          writer = undefined; // every commit outcome releases the ref
          const digest = await w.commit({ ...(total !== undefined ? { size: total } : {}), ...(expected ? { expected } : {}) });
          if (Object.keys(labels).length) await backing.store.update(digest, { labels });
          if (ctx.lease) await backing.unleaseIngest(ctx.lease, ref);
          msg.digest = digest;
        } else msg.digest = await w.digest();
      }
      await send(call, msg);
      if (action === 'COMMIT') return void (reqs.gone || call.end());
      const next = await reqs.next();
      if (next.done) break;
      req = next.value;
    }
    await writer?.close();
    writer = undefined;
    if (signal.aborted && !reqs.gone) {
      throw unavailable('ERR_SHUTTING_DOWN', `the server is shutting down: ref ${JSON.stringify(ref)} was released with its data kept (write again to resume)`, { ref });
    }
    if (!reqs.gone) call.end();
  } catch (err) {
    // The ref is free before the client hears of the failure: its next writer opens at once.
    await writer?.close().catch(() => {});
    if (!reqs.gone) call.emit('error', toServiceError(err, Md, `Write ${JSON.stringify(ref)}`));
  }
}
