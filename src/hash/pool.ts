/**
 * The hashing pool: a piscina client. Hashing (and whole-file ingest/verify) runs in worker
 * threads so the main thread stays free for I/O and lock heartbeats (DESIGN §4).
 *
 * Guarantees:
 * - Lazy: no thread exists until the first task; idle workers are unref'd by piscina and
 *   exit after `idleTimeoutMs`, and `close()` destroys them, so a CLI exits promptly.
 * - Bounded: at most `threads + maxQueue` tasks are admitted at once; further `run()` calls
 *   wait for a slot (backpressure). Chunk memory is copied only after admission, so the
 *   memory held by in-flight updates is at most `(threads + maxQueue) × MAX_PIECE` (plus at
 *   most 16 MiB of idle recycled slabs).
 * - Portable state: a task carries hash-wasm `save()` bytes, so any worker continues any
 *   ingest; the worker keeps one reused hasher per algorithm.
 * - No clones of big buffers: a chunk is copied once into a (recycled) SharedArrayBuffer and
 *   shared, never posted as a `subarray` of a larger Buffer, which would clone the whole
 *   parent (14 ms for a 16 MiB parent vs 0.09 ms to share 1 MiB, measured here).
 * - Errors keep class, kind and code: workers answer `{error: toWire(err)}`, `run()` throws
 *   `fromWire(...)`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransferListItem } from 'node:worker_threads';
// piscina is loaded on the first task: commands that never hash don't pay its ~35 ms import.
import type { Piscina } from 'piscina';
import type { Algorithm } from '../digest.js';
import { canceled, ContentError, fromWire, invalidArgument, isWireError, wrapSystemError, type WireError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { HashState } from './types.js';

/** Worker entry points, compiled to `<package root>/dist/workers/<name>.js`. */
export type WorkerName = 'hash-update' | 'hash-file' | 'hash-range' | 'ingest-files' | 'verify-blobs' | 'hash-stream';

/** How a worker hashes whole local files: OpenSSL (node:crypto) or hash-wasm. */
export type HashMode = 'wasm' | 'native';

/** What every worker answers: a value, or a serialised ContentError. */
export type WorkerReply<T> = { value: T; error?: undefined } | { value?: undefined; error: WireError };

/** Largest piece of a chunk sent in one update task; bigger chunks are split. */
export const MAX_PIECE = 4 * 1024 * 1024;
const SLAB_MIN = 64 * 1024;
const SLAB_RETAIN = 16 * 1024 * 1024;

export interface PoolOptions {
  /** Worker threads (default: $DIST_JOBS, else os.availableParallelism()). */
  threads?: number;
  /** Tasks admitted beyond one per thread before `run()` waits (default 2 × threads). */
  maxQueue?: number;
  /** An idle worker exits after this long (default 2000 ms). */
  idleTimeoutMs?: number;
}

export interface UpdateTask {
  alg: Algorithm;
  build: string;
  offset: number;
  state: Uint8Array;
  data: Uint8Array;
}

export interface HashFileTask {
  path: string;
  alg: Algorithm;
  mode: HashMode;
}

export interface HashFileResult {
  digest: string;
  size: number;
}

/** Hash bytes [from, to) of an open descriptor; `cancel` is an Int32Array's shared buffer. */
export interface HashRangeTask {
  fd: number;
  alg: Algorithm;
  mode: HashMode;
  from: number;
  to: number;
  cancel: SharedArrayBuffer;
}

export type HashRangeResult = { digest: string; bytes: number; canceled?: undefined } | { canceled: true; bytes: number; digest?: undefined };

/** Threads from an explicit option, else $DIST_JOBS, else the machine's parallelism. */
export function resolveThreads(threads?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (threads !== undefined) return checkThreads(threads, 'threads');
  const fromEnv = env.DIST_JOBS;
  if (fromEnv !== undefined && fromEnv !== '') return checkThreads(Number(fromEnv), 'DIST_JOBS');
  return availableParallelism();
}

function checkThreads(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw invalidArgument('ERR_INVALID_JOBS', `invalid ${what} ${JSON.stringify(n)}: expected an integer from 1 to 1024`, { actual: String(n) });
  }
  return n;
}

/**
 * Path of a compiled worker, under the package's directory (../package-root.ts), so it is
 * found from the TS sources (vitest) and from dist/ alike; workers always run as compiled JS.
 */
const located = new Map<WorkerName, string>();

export function workerFile(name: WorkerName): string {
  const known = located.get(name);
  if (known) return known;
  const root = packageRoot();
  if (!root) throw new ContentError('Internal', 'ERR_WORKER_MISSING', `cannot locate package root above ${fileURLToPath(import.meta.url)}`);
  const file = join(root, 'dist', 'workers', `${name}.js`);
  if (!existsSync(file)) {
    throw new ContentError('Internal', 'ERR_WORKER_MISSING', `hash worker ${file} is missing: run \`npm run build\``, { path: file });
  }
  located.set(name, file);
  return file;
}

/** Copies `data` into a SharedArrayBuffer of exactly its size (shared, never cloned). */
export function shareCopy(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof SharedArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  const out = new Uint8Array(new SharedArrayBuffer(data.byteLength));
  out.set(data);
  return out;
}

export class HashPool {
  readonly threads: number;
  readonly maxQueue: number;
  private readonly idleTimeoutMs: number;
  private piscina: Piscina | undefined;
  private admitted = 0;
  private peakAdmitted = 0;
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private closed = false;
  private readonly slabs = new Map<number, SharedArrayBuffer[]>();
  private retained = 0;

  constructor(options: PoolOptions = {}) {
    this.threads = resolveThreads(options.threads);
    this.maxQueue = options.maxQueue ?? 2 * this.threads;
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 0) {
      throw invalidArgument('ERR_INVALID_QUEUE', `invalid maxQueue ${this.maxQueue}`, { actual: this.maxQueue });
    }
    this.idleTimeoutMs = options.idleTimeoutMs ?? 2000;
  }

  /** True once a worker pool exists (the first task starts it). */
  get started(): boolean {
    return this.piscina !== undefined;
  }

  /** Admission counters: `waiting` callers are held back by the bounded queue. */
  stats(): { admitted: number; peakAdmitted: number; waiting: number; limit: number } {
    return { admitted: this.admitted, peakAdmitted: this.peakAdmitted, waiting: this.waiters.length, limit: this.limit };
  }

  private get limit(): number {
    return this.threads + this.maxQueue;
  }

  private starting: Promise<Piscina> | undefined;

  private start(): Promise<Piscina> {
    if (this.closed) throw canceled('ERR_POOL_CLOSED', 'the hashing pool is closed');
    this.starting ??= import('piscina').then(({ Piscina }) => (this.piscina = this.create(Piscina)));
    return this.starting;
  }

  private create(PiscinaClass: typeof Piscina): Piscina {
    return new PiscinaClass({
      filename: workerFile('hash-update'),
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: this.idleTimeoutMs,
      // Admission is bounded here (acquire), so piscina's own queue never overflows.
      maxQueue: Infinity,
      concurrentTasksPerWorker: 1,
    });
  }

  private acquire(): Promise<void> {
    if (this.closed) return Promise.reject(canceled('ERR_POOL_CLOSED', 'the hashing pool is closed'));
    if (this.admitted < this.limit) {
      this.admitted++;
      this.peakAdmitted = Math.max(this.peakAdmitted, this.admitted);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve(); // the slot passes straight to the next waiter
    else this.admitted--;
  }

  /**
   * Runs one task in worker `name`, waiting for a slot first. `prepare` runs after
   * admission (so buffers are only materialised for admitted tasks) and returns the task.
   */
  async run<T>(name: WorkerName, prepare: () => unknown, transferList?: TransferListItem[]): Promise<T> {
    await this.acquire();
    try {
      const piscina = await this.start();
      let reply: WorkerReply<T>;
      try {
        reply = (await piscina.run(prepare(), { filename: workerFile(name), transferList: transferList as never })) as WorkerReply<T>;
      } catch (err) {
        if (isWireError(err)) throw fromWire(err);
        throw wrapSystemError(err, `hash worker ${name}`);
      }
      if (reply.error) throw fromWire(reply.error);
      return reply.value as T;
    } finally {
      this.release();
    }
  }

  /**
   * Continues `state` over `data` in a worker. Chunks larger than MAX_PIECE are split into
   * pieces hashed in sequence, so in-flight memory stays bounded.
   */
  async update(state: HashState, data: Uint8Array): Promise<HashState> {
    let s = state;
    for (let at = 0; at < data.byteLength; at += MAX_PIECE) {
      const piece = data.subarray(at, Math.min(data.byteLength, at + MAX_PIECE));
      const from = s;
      let slab: Uint8Array | undefined;
      try {
        s = await this.run<HashState>('hash-update', () => {
          // Already shared memory (a writer's hash ring, kept unchanged until this settles): posted as is.
          if (piece.buffer instanceof SharedArrayBuffer) return { ...from, data: piece } satisfies UpdateTask;
          slab = this.borrow(piece);
          return { ...from, data: slab } satisfies UpdateTask;
        });
      } finally {
        if (slab) this.giveBack(slab);
      }
    }
    return s;
  }

  /**
   * A copy of `piece` in a reused SharedArrayBuffer. Allocating a fresh 1 MiB SAB costs
   * ~0.5 ms here (zero-filled) against 0.06 ms for the copy itself, so slabs (power-of-two
   * size classes from 64 KiB) are recycled once their task settles; posting a view of a SAB
   * shares it, so a slab larger than the piece costs nothing extra. Idle slabs are capped
   * at SLAB_RETAIN bytes in all.
   */
  private borrow(piece: Uint8Array): Uint8Array {
    const size = Math.max(SLAB_MIN, 2 ** Math.ceil(Math.log2(Math.max(1, piece.byteLength))));
    let sab = this.slabs.get(size)?.pop();
    if (sab) this.retained -= size;
    else sab = new SharedArrayBuffer(size);
    const view = new Uint8Array(sab, 0, piece.byteLength);
    view.set(piece);
    return view;
  }

  private giveBack(view: Uint8Array): void {
    if (this.closed) return;
    const sab = view.buffer as SharedArrayBuffer;
    let list = this.slabs.get(sab.byteLength);
    if (!list) this.slabs.set(sab.byteLength, (list = []));
    if (this.retained + sab.byteLength > SLAB_RETAIN) return;
    list.push(sab);
    this.retained += sab.byteLength;
  }

  /** Hashes a whole local file inside a worker (streamed in bounded chunks). */
  hashFile(path: string, alg: Algorithm, mode: HashMode): Promise<HashFileResult> {
    return this.run<HashFileResult>('hash-file', () => ({ path, alg, mode }) satisfies HashFileTask);
  }

  /** Destroys the workers; waiting and later calls fail with Canceled. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(canceled('ERR_POOL_CLOSED', 'the hashing pool is closed'));
    this.slabs.clear();
    this.retained = 0;
    // A pool still loading is awaited, so its threads cannot outlive close().
    const p = this.starting ? await this.starting.catch(() => undefined) : this.piscina;
    this.piscina = undefined;
    this.starting = undefined;
    if (p) await p.destroy();
  }
}
