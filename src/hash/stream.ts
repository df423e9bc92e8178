/**
 * A hash stream: one ingest's chunks hashed in order by a worker thread pinned to it.
 *
 * Why: through the pool, a chained ingest has one chunk in flight at a time — the next
 * update can only be sent once the previous state is back — so the hashing thread waits a
 * round trip (reply, main-thread turn, dispatch, wake-up) per chunk, ~30% of its time on
 * the 2-core machine (issue 14). Here chunks are posted as soon as they are written; the
 * worker keeps its hasher loaded and answers the state after each chunk, so it never waits
 * while there is data.
 *
 * Guarantees: states come back in push order, each after exactly the bytes pushed before
 * it (the state format is the pool's, so checkpoints, resumes and digests are unchanged);
 * a chunk is read by the worker after push() returns, so the caller keeps it unchanged
 * until that push settles (a SharedArrayBuffer view is shared as is, anything else is
 * copied into one first); after a failure every later push fails too. The worker is
 * unref'd while nothing is pending (an abandoned stream never holds the process open) and
 * end() terminates it.
 */
import { Worker } from 'node:worker_threads';
import { fromWire, wrapSystemError, type WireError } from '../errors.js';
import { shareCopy, workerFile } from './pool.js';
import type { HashState, HashStream } from './types.js';

/** workerData of workers/hash-stream.ts. */
export type StreamStart = Pick<HashState, 'alg' | 'build' | 'offset' | 'state'>;
export type StreamReply = { offset: number; state: Uint8Array; error?: undefined } | { error: WireError; offset?: undefined; state?: undefined };

export class WorkerHashStream implements HashStream {
  private readonly worker: Worker;
  private readonly waiting: Array<{ resolve: (s: HashState) => void; reject: (e: unknown) => void }> = [];
  private broken: unknown;

  private ended = false;

  /** `onEnd` runs once, at end(). */
  constructor(
    private readonly from: HashState,
    private readonly onEnd: () => void = () => {},
  ) {
    const start: StreamStart = { alg: from.alg, build: from.build, offset: from.offset, state: from.state };
    this.worker = new Worker(workerFile('hash-stream'), { workerData: start });
    this.worker.unref();
    this.worker.on('message', (m: StreamReply) => {
      const w = this.waiting.shift();
      if (this.waiting.length === 0) this.worker.unref();
      if (!w) return;
      if (m.error) this.fail(fromWire(m.error), w);
      else w.resolve({ alg: this.from.alg, build: this.from.build, offset: m.offset, state: m.state });
    });
    this.worker.on('error', (err) => this.fail(wrapSystemError(err, 'hash stream worker')));
    this.worker.on('exit', (code) => this.fail(wrapSystemError(new Error(`hash stream worker exited (${code})`), 'hash stream worker')));
  }

  private fail(err: unknown, first?: { reject: (e: unknown) => void }): void {
    this.broken ??= err;
    first?.reject(this.broken);
    for (const w of this.waiting.splice(0)) w.reject(this.broken);
    this.worker.unref();
  }

  push(data: Uint8Array): Promise<HashState> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) this.worker.ref();
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(data.buffer instanceof SharedArrayBuffer ? data : shareCopy(data));
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    this.broken ??= wrapSystemError(new Error('hash stream ended'), 'hash stream');
    void this.worker.terminate().catch(() => {});
  }
}
