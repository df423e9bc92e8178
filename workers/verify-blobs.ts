/** Task: re-hash a batch of committed blobs; the client compares and classifies. */
import { formatDigest, parseDigest } from '../src/digest.js';
import { toWire, wrapSystemError } from '../src/errors.js';
import { hashFileSync } from '../src/bulk/file-hash.js';
import type { VerifyBlobOutcome, VerifyBlobsTask } from '../src/bulk/tasks.js';
import { replying } from './reply.js';

export default replying(async (task: VerifyBlobsTask): Promise<VerifyBlobOutcome[]> => {
  const out: VerifyBlobOutcome[] = [];
  for (const { path, digest } of task.blobs) {
    try {
      const { algorithm } = parseDigest(digest);
      const { hex, size, statSize } = await hashFileSync(path, algorithm, task.mode);
      out.push({ path, digest, actual: formatDigest(algorithm, hex), size, statSize });
    } catch (err) {
      out.push({ path, digest, size: 0, statSize: 0, error: toWire(wrapSystemError(err, `verify ${digest}`, { digest, path })) });
    }
  }
  return out;
});
