/**
 * The naive fsync store, a baseline: node:crypto sha256 of the whole content, write a temp
 * file, fsync it, rename it to blobs/sha256/<hex>, fsync the directory. Full durability,
 * nothing clever (no batching, no shared dir fsync).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

export class NaiveStore {
  readonly dir: string;
  readonly tmp: string;
  constructor(readonly root: string) {
    this.dir = join(root, 'blobs', 'sha256');
    this.tmp = join(root, 'tmp');
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  async put(data: Uint8Array): Promise<string> {
    const hex = createHash('sha256').update(data).digest('hex');
    const tmp = join(this.tmp, randomBytes(8).toString('hex'));
    const fh = await open(tmp, 'wx');
    try {
      let done = 0;
      while (done < data.byteLength) done += (await fh.write(data, done, data.byteLength - done)).bytesWritten;
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, hex));
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return `sha256:${hex}`;
  }
}
