/** Task: re-hash a batch of committed blobs; the client compares and classifies. */
import { formatDigest, parseDigest } from '../src/digest.js';
import { toWire, wrapSystemError } from '../src/errors.js';
import { hashFileSync } from '../src/bulk/file-hash.js';
import type { VerifyBlobOutcome, VerifyBlobsTask } from '../src/bulk/tasks.js';
import { replying } from './reply.js';
import { constants } from 'node:fs';

const READ_BLOB = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export default replying(async (task: VerifyBlobsTask): Promise<VerifyBlobOutcome[]> => {
  const out: VerifyBlobOutcome[] = [];
  for (const { path, digest } of task.blobs) {
    try {
      const { algorithm } = parseDigest(digest);
      // Never through a symlink under blobs/, never blocking on a FIFO there.
      const { hex, size, statSize, id } = await hashFileSync(path, algorithm, task.mode, READ_BLOB);
      out.push({ path, digest, actual: formatDigest(algorithm, hex), size, statSize, id });
    } catch (err) {
      out.push({ path, digest, size: 0, statSize: 0, error: toWire(wrapSystemError(err, `verify ${digest}`, { digest, path })) });
    }
  }
  return out;
});
