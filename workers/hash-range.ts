/**
 * Task: hash bytes [from, to) of a file the caller has open, by its descriptor (workers share
 * the process's descriptor table), so what is hashed is the caller's file, whatever its name
 * now names. Stops early when the caller sets `cancel[0]` (it must not close the descriptor
 * before this task settles).
 */
import { readSync } from 'node:fs';
import { formatDigest, parseAlgorithm } from '../src/digest.js';
import { chunkBuffer, fileHasher } from '../src/bulk/file-hash.js';
import type { HashRangeResult, HashRangeTask } from '../src/hash/pool.js';
import { replying } from './reply.js';

export default replying(async (task: HashRangeTask): Promise<HashRangeResult> => {
  const alg = parseAlgorithm(task.alg);
  const h = await fileHasher(alg, task.mode);
  const buf = chunkBuffer();
  const cancel = new Int32Array(task.cancel);
  let pos = task.from;
  while (pos < task.to) {
    if (Atomics.load(cancel, 0) !== 0) return { canceled: true, bytes: pos - task.from };
    const n = readSync(task.fd, buf, 0, Math.min(buf.length, task.to - pos), pos);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
  }
  return { digest: formatDigest(alg, h.hex()), bytes: pos - task.from };
});
