/**
 * Verified resume. A checkpoint lets a resumed ingest start writing at once, without reading
 * what it already holds; but the saved hash state describes the bytes as they were written,
 * not as they are on disk now (bit rot, a stray write, a disk that lost a block). So the
 * prefix the checkpoint covers is re-hashed from the data file in the background (OpenSSL in
 * a worker, through the writer's own descriptor) while new bytes arrive, and its digest is
 * compared with the digest of the checkpoint's state. The commit waits for the answer: no
 * commit publishes bytes that do not hash to the name.
 */
import { dataLoss, type ContentError } from '../errors.js';
import type { Algorithm } from '../digest.js';
import { fileHashMode } from '../hash/engine.js';
import type { HashPool, HashRangeResult, HashRangeTask } from '../hash/pool.js';

export class PrefixCheck {
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  /** Resolves to the DataLoss error when the prefix disagrees, undefined when it agrees (or was canceled). */
  readonly result: Promise<ContentError | undefined>;
  /** Set once the check has found a mismatch. */
  failure: ContentError | undefined;
  settled = false;

  constructor(pool: HashPool, ref: string, fd: number, alg: Algorithm, upto: number, expected: string) {
    const task: HashRangeTask = { fd, alg, mode: fileHashMode(alg), from: 0, to: upto, cancel: this.cancelFlag.buffer as SharedArrayBuffer };
    this.result = pool.run<HashRangeResult>('hash-range', () => task).then(
      (r) => {
        this.settled = true;
        if (r.canceled || r.digest === expected) return undefined;
        this.failure = dataLoss(
          'ERR_RESUME_CORRUPT',
          `partial data of ref ${JSON.stringify(ref)} does not match its checkpoint: its first ${upto} bytes hash to ${r.digest}, the checkpoint says ${expected}`,
          { ref, expected, actual: r.digest, offset: upto },
        );
        return this.failure;
      },
      (err: ContentError) => {
        this.settled = true;
        // Could not check (pool closed, I/O error): the commit must not trust the prefix either.
        this.failure = err;
        return err;
      },
    );
  }

  /** Stops the check; resolves once the worker no longer reads the descriptor. */
  async cancel(): Promise<void> {
    Atomics.store(this.cancelFlag, 0, 1);
    await this.result.catch(() => {});
  }
}
