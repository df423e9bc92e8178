import { open } from 'node:fs/promises';

/**
 * fsync a directory so entries created, renamed or linked in it survive a crash. Without
 * this, ext4 and xfs may lose a freshly linked name even though the file's data is durable.
 */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
