/**
 * Temporary store roots under os.tmpdir(). Every root made here is removed by its
 * cleanup (or by `cleanupAll`, registered by the test files in afterAll).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  dir: string;
  cleanup(): Promise<void>;
}

const live = new Set<string>();

export async function makeTempDir(prefix = 'containerkit-test-'): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  live.add(dir);
  return {
    dir,
    async cleanup() {
      live.delete(dir);
      await removeTree(dir);
    },
  };
}

/** Removes every temp dir this process made and has not cleaned up yet. */
export async function cleanupAll(): Promise<void> {
  const dirs = [...live];
  live.clear();
  await Promise.all(dirs.map(removeTree));
}

/** rm -rf that copes with committed blobs being mode 0444 (their directories stay writable). */
async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
}
