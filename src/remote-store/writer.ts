/**
 * A Writer over one Write stream (containerd's protocol, ../services/content/write.ts): the
 * server holds the ref's on-disk lock for as long as the stream is open. Each call is one
 * request and its answer, in order. `close()` half-closes the stream and resolves once the
 * server has released the ref, so the next writer — in any process — opens it at once.
 *
 * Opening waits for a held ref the way the local store does (`wait`), by asking again with a
 * jittered backoff (as containerd's clients do), announcing each wait on
 * `containerkit:lock:contend`.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { CommitOptions, Status, Writer, WriterOptions } from '../content/types.js';
import { parseDigest } from '../digest.js';
import { canceled, ContentError, dataLoss, failedPrecondition, invalidArgument, isKind, type ErrorDetails } from '../errors.js';
import { diag } from '../diagnostics.js';
import { validateWriterOptions } from '../local/writer.js';
import { fromTimestamp } from '../services/convert.js';
import { fromServiceError } from '../services/grpc-errors.js';
import type { WriteRequest, WriteResponse } from '../services/messages.js';
import type { Connection } from './connect.js';

/** Bytes per Write message: larger chunks are split (well under the message limit). */
const MAX_CHUNK = 4 << 20;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Call = ClientDuplexStream<WriteRequest, WriteResponse>;

/** One stream: requests answered in order; the stream's end (status) is awaited on close. */
class Exchange {
  private waiting: { resolve(r: WriteResponse): void; reject(e: ContentError): void } | undefined;
  private failure: ContentError | undefined;
  readonly ended: Promise<void>;

  constructor(
    readonly call: Call,
    where: string,
  ) {
    call.on('data', (r: WriteResponse) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve(r);
    });
    this.ended = new Promise<void>((resolve) => {
      call.on('error', (err) => {
        this.failure ??= fromServiceError(err, where);
        this.waiting?.reject(this.failure);
        this.waiting = undefined;
        resolve();
      });
      call.on('status', () => resolve());
    });
    // An answer that never comes (the stream ended without one) is a failure too.
    void this.ended.then(() => {
      this.waiting?.reject(this.failure ?? failedPrecondition('ERR_STREAM_ENDED', `the write stream to ${where} ended`, {}));
      this.waiting = undefined;
    });
  }

  get error(): ContentError | undefined {
    return this.failure;
  }

  send(req: WriteRequest): Promise<WriteResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.call.write(req);
    });
  }
}

export class RemoteWriter implements Writer {
  private state: 'open' | 'committed' | 'closed' = 'open';
  private offset: number;
  private lastDigest: string;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly ref: string,
    private readonly ex: Exchange,
    first: WriteResponse,
    private readonly expected: string | undefined,
  ) {
    this.offset = first.offset ?? 0;
    this.lastDigest = first.digest ?? '';
  }

  static async open(conn: Connection, opts: WriterOptions): Promise<RemoteWriter> {
    const { alg, expected } = validateWriterOptions(opts);
    const wait = opts.wait === true ? Infinity : typeof opts.wait === 'number' ? opts.wait : 0;
    const deadline = Date.now() + wait;
    let backoff = 4;
    for (;;) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      const call = (conn.client('content') as unknown as { Write(md: unknown): Call }).Write(conn.metadata());
      const ex = new Exchange(call, conn.where);
      try {
        const first = await ex.send({
          action: 'STAT',
          ref: opts.ref,
          ...(opts.total !== undefined ? { total: opts.total } : {}),
          ...(expected ? { expected } : {}),
          ...(!expected && opts.algorithm ? { algorithm: alg } : {}),
        });
        return new RemoteWriter(opts.ref, ex, first, expected);
      } catch (err) {
        call.cancel();
        const e = err as ContentError;
        // Only a held ref is waited for; an unreachable server is not a lock.
        if (!isKind(e, 'Unavailable') || e.code === 'ERR_SERVER_UNAVAILABLE' || Date.now() >= deadline) throw e;
        const holder = (e.details as ErrorDetails).holder as { pid: number; host: string; ageMs?: number } | undefined;
        diag.lockContend.publish({ ref: opts.ref, ...(holder ? { owner: { pid: holder.pid, host: holder.host }, ageMs: holder.ageMs } : {}) });
        const ms = Math.min(backoff * (0.5 + Math.random()), deadline - Date.now());
        backoff = Math.min(backoff * 2, 250);
        await abortableSleep(ms, opts.signal);
      }
    }
  }

  /** Runs one exchange at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private assertOpen(op: string): void {
    if (this.state !== 'open') {
      throw failedPrecondition('ERR_WRITER_CLOSED', `cannot ${op}: writer for ref ${JSON.stringify(this.ref)} is ${this.state}`, { ref: this.ref });
    }
    if (this.ex.error) throw this.ex.error;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.serial(async () => {
      this.assertOpen('write');
      for (let i = 0; i < chunk.byteLength; i += MAX_CHUNK) {
        const part = chunk.subarray(i, Math.min(chunk.byteLength, i + MAX_CHUNK));
        const at = this.offset;
        // Offset 0 on a non-empty ingest would truncate it: only ever send the offset we hold.
        const r = await this.ex.send({ action: 'WRITE', offset: at, data: Buffer.from(part.buffer, part.byteOffset, part.byteLength) });
        if (r.digest) this.lastDigest = r.digest;
        if ((r.offset ?? 0) !== at + part.byteLength) {
          throw dataLoss('ERR_SHORT_WRITE', `ref ${JSON.stringify(this.ref)}: the server is at offset ${r.offset ?? 0} after writing ${part.byteLength} bytes at ${at}`, {
            ref: this.ref,
            expected: at + part.byteLength,
            actual: r.offset ?? 0,
          });
        }
        this.offset = r.offset ?? 0;
      }
    });
  }

  async digest(): Promise<string> {
    await this.queue;
    return this.lastDigest;
  }

  status(): Promise<Status> {
    return this.serial(async () => {
      this.assertOpen('status');
      const r = await this.ex.send({ action: 'STAT' });
      if (r.digest) this.lastDigest = r.digest;
      this.offset = r.offset ?? 0;
      const expected = r.expected ?? this.expected;
      return {
        ref: this.ref,
        offset: this.offset,
        ...(r.total !== undefined ? { total: r.total } : {}),
        ...(expected ? { expected } : {}),
        startedAt: fromTimestamp(r.startedAt),
        updatedAt: fromTimestamp(r.updatedAt),
        state: 'active',
      };
    });
  }

  truncate(size: number): Promise<void> {
    return this.serial(async () => {
      this.assertOpen('truncate');
      if (size !== 0) throw invalidArgument('ERR_INVALID_TRUNCATE', `truncate to ${size} is not supported (only 0)`, { ref: this.ref, actual: size });
      // A write at offset 0 restarts the ingest (containerd's protocol).
      const r = await this.ex.send({ action: 'WRITE', offset: 0 });
      this.offset = r.offset ?? 0;
      if (r.digest) this.lastDigest = r.digest;
    });
  }

  commit(options: CommitOptions = {}): Promise<string> {
    return this.serial(async () => {
      this.assertOpen('commit');
      const expected = options.expected !== undefined ? parseDigest(options.expected).digest : undefined;
      try {
        const r = await this.ex.send({
          action: 'COMMIT',
          offset: this.offset,
          ...(options.size !== undefined ? { total: options.size } : {}),
          ...(expected ? { expected } : {}),
        });
        // The server released the ref before it answered: the next writer opens at once.
        this.state = 'committed';
        return r.digest ?? '';
      } catch (err) {
        // Every commit outcome releases the ref (the server did, before answering).
        this.state = 'closed';
        await this.ex.ended;
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.ex.call.end();
    await this.ex.ended;
  }
}

function abortReason(signal: AbortSignal): ContentError {
  return signal.reason instanceof ContentError ? signal.reason : canceled('ERR_ABORTED', 'the wait for a ref was aborted', {});
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (signal.removeEventListener('abort', on), resolve()), ms);
    const on = () => (clearTimeout(t), reject(abortReason(signal)));
    signal.addEventListener('abort', on, { once: true });
  });
}
