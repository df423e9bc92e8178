/** Task: hash one whole local file (`wasm` or `native` mode), streamed in bounded chunks. */
import { formatDigest, parseAlgorithm } from '../src/digest.js';
import { hashFileSync } from '../src/bulk/file-hash.js';
import type { HashFileResult, HashFileTask } from '../src/hash/pool.js';
import { replying } from './reply.js';

export default replying(async (task: HashFileTask): Promise<HashFileResult> => {
  const alg = parseAlgorithm(task.alg);
  const { hex, size } = await hashFileSync(task.path, alg, task.mode);
  return { digest: formatDigest(alg, hex), size };
});
