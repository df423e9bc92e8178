/**
 * Suite `commit`: small-blob (4 KiB) latency through store.writer → write → commit (fsync of
 * data and of the blob directory) vs the naive fsync store's per-blob put (sequential, one
 * blob at a time, tinybench p50/p99). Each iteration writes new random content.
 */
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { KiB, randomFillSync, removeTemp, row, tempDir, type Ctx, type Row, type Suite } from './lib/common.js';
import { micro } from './lib/micro.js';
import { NaiveStore } from './lib/naive.js';

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'commit';
  const root = tempDir('commit');
  try {
    const store = openStore(join(root, 'store'));
    const naive = new NaiveStore(join(root, 'naive'));
    const buf = Buffer.allocUnsafe(4 * KiB);
    let i = 0;
    const m = await micro(
      {
        writer: async () => {
          randomFillSync(buf);
          const w = await store.writer({ ref: `c-${i++}` });
          await w.write(buf);
          await w.commit();
        },
        naive: async () => {
          randomFillSync(buf);
          await naive.put(buf);
        },
      },
      { time: ctx.quick ? 1000 : 3000, iterations: 50 },
    );
    const w = m.writer;
    const n = m.naive;
    return [
      row(S, 'store.writer → write 4 KiB → commit, p50', w.p50, 'ms', { name: 'naive fsync store put p50', value: n.p50 }, undefined, `${w.samples} samples vs ${n.samples}`),
      row(S, 'store.writer → write 4 KiB → commit, p99', w.p99, 'ms', { name: 'naive fsync store put p99', value: n.p99 }),
      row(S, 'store.writer → write 4 KiB → commit, rate (1 at a time)', 1000 / w.mean, 'blobs/s', { name: 'naive fsync store, 1 at a time', value: 1000 / n.mean }),
    ];
  } finally {
    removeTemp(root);
  }
}

export const commitSuite: Suite = { name: 'commit', description: 'small-blob commit latency through the writer', run };
