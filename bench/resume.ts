/**
 * Suite `resume` (issue 3): "reopen time of a 1 GiB partial ingest with checkpoints vs a full
 * re-hash of the same data in the same run (target ratio ≤ 0.02)".
 *
 * Writes 1 GiB (256 MiB with --quick) under a ref and closes it (checkpoint at close). Then:
 * reopen = store.writer({ref}) until the writer's digest() is ready (the resumed hash state
 * is complete), with the checkpoint (median of 5) and after rewriting the status record
 * without its checkpoint (StatusFile, src/local/status-file.ts), which forces a full
 * re-hash of the data (median of 3).
 */
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { ingestPaths } from '../src/local/paths.js';
import { StatusFile } from '../src/local/status-file.js';
import { GiB, mbps, median, MiB, now, randomFillSync, removeTemp, row, tempDir, type Ctx, type Row, type Suite } from './lib/common.js';
import { wasmSha256 } from './lib/limits.js';

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'resume';
  const rows: Row[] = [];
  const size = ctx.quick ? 256 * MiB : GiB;
  const label = `${size / MiB} MiB`;
  const wasm = await wasmSha256(ctx);
  const root = tempDir('resume');
  try {
    const store = openStore(join(root, 'store'));
    const ref = 'resume-bench';
    const chunk = randomFillSync(Buffer.allocUnsafe(MiB));
    let w = await store.writer({ ref });
    for (let at = 0, i = 0; at < size; at += MiB, i++) {
      chunk.writeDoubleLE(i, 0);
      await w.write(chunk);
    }
    const expected = await w.digest();
    await w.close();

    const reopen = async (): Promise<number> => {
      const t = now();
      w = await store.writer({ ref });
      const d = await w.digest();
      const ms = now() - t;
      const st = await w.status();
      await w.close();
      if (d !== expected || st.offset !== size) throw new Error(`resumed digest ${d} at ${st.offset}, expected ${expected} at ${size}`);
      return ms;
    };
    const stripCheckpoint = async () => {
      const { file, record } = await StatusFile.open(ingestPaths(store.root, ref).status);
      try {
        if (!record?.checkpoint) throw new Error('no checkpoint in the status record after close');
        await file.write({ ...record, checkpoint: undefined });
      } finally {
        await file.close();
      }
    };

    const withCp: number[] = [];
    for (let i = 0; i < 5; i++) withCp.push(await reopen());
    const full: number[] = [];
    for (let i = 0; i < (ctx.quick ? 1 : 3); i++) {
      await stripCheckpoint();
      full.push(await reopen());
    }
    const cp = median(withCp);
    const fm = median(full);
    ctx.log(`  reopen with checkpoint ${cp.toFixed(2)} ms; full re-hash ${fm.toFixed(0)} ms`);
    rows.push(row(S, `reopen ${label} partial ingest, checkpoint`, cp, 'ms', { name: 'reopen with full re-hash', value: fm }, { on: 'ratio', goal: 'lower', limit: 0.02 }, `median of ${withCp.length}; writer open → digest ready`));
    rows.push(row(S, `full re-hash of ${label} on reopen (no checkpoint)`, mbps(size, fm), 'MB/s', { name: 'hash-wasm SHA-256 1 thread (in memory)', value: wasm }, undefined, `median of ${full.length}; reads the data file (page cache) and hashes in the pool, one chain`));
  } finally {
    removeTemp(root);
  }
  return rows;
}

export const resumeSuite: Suite = { name: 'resume', description: 'reopen of a large partial ingest: checkpoint vs full re-hash', run };
