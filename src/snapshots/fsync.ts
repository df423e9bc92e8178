import { open } from 'node:fs/promises';

/**
 * fsync a directory so a name created or renamed in it survives a power loss (ext4 and xfs
 * may otherwise lose it even when the file's data is durable).
 */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
