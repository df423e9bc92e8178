/**
 * Task: continue a hash-wasm state over one chunk (shared memory, never copied here beyond
 * hash-wasm's own input copy). One reused hasher per algorithm per worker (src/hash/wasm.ts).
 */
import { parseAlgorithm } from '../src/digest.js';
import { failedPrecondition } from '../src/errors.js';
import type { UpdateTask } from '../src/hash/pool.js';
import type { HashState } from '../src/hash/types.js';
import { compatible, HASH_BUILD, hasher, updateWith } from '../src/hash/wasm.js';
import { replying } from './reply.js';

export default replying(async (task: UpdateTask): Promise<HashState> => {
  const alg = parseAlgorithm(task.alg);
  if (!compatible(task, alg)) {
    throw failedPrecondition('ERR_HASH_STATE_INCOMPATIBLE', `hash state from ${task.build} cannot be loaded by ${HASH_BUILD}`, {
      expected: HASH_BUILD,
      actual: task.build,
    });
  }
  return updateWith(await hasher(alg), task, task.data);
});
