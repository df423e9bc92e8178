/**
 * Task: ingest a batch of whole local files into the store (src/bulk/commit.ts). Each file
 * succeeds or fails on its own; every blob directory a new name was linked into is fsynced
 * once, before the batch — and so any of its files — is reported.
 */
import { parseAlgorithm } from '../src/digest.js';
import { toWire, wrapSystemError } from '../src/errors.js';
import { fsyncDir, ingestFileSync } from '../src/bulk/commit.js';
import type { IngestFileOutcome, IngestFilesTask } from '../src/bulk/tasks.js';
import { replying } from './reply.js';

export default replying(async (task: IngestFilesTask): Promise<IngestFileOutcome[]> => {
  const alg = parseAlgorithm(task.alg);
  const dirty = new Set<string>();
  const out: IngestFileOutcome[] = [];
  for (const path of task.paths) {
    try {
      out.push({ path, ...(await ingestFileSync(task.root, path, alg, task.mode, dirty, task)) });
    } catch (err) {
      out.push({ path, error: toWire(wrapSystemError(err, `add ${path}`, { path })) });
    }
  }
  for (const dir of dirty) fsyncDir(dir);
  return out;
});
