/**
 * Suite `resume` (issue 3): "reopen time of a 1 GiB partial ingest with checkpoints vs a full
 * re-hash of the same data in the same run (target ratio ≤ 0.02)".
 *
 * Writes 1 GiB (256 MiB with --quick) under a ref and closes it (checkpoint at close). Then:
 * reopen = store.writer({ref}) until the writer's digest() is ready (the resumed hash state
 * is complete), with the checkpoint (median of 5) and after rewriting the status record
 * without its checkpoint (StatusFile, src/local/status-file.ts), which forces a full
 * re-hash of the data (median of 3).
 *
 * Issue 8 (verified resume): a resumed prefix is re-hashed in the background before any
 * commit, so the reopen must still accept its first write at once — time from writer() to
 * the first accepted 1 MiB write on the 1 GiB partial (goal ≤ 50 ms), next to the same on an
 * empty ref; and a whole resumed ingest (half written, closed, reopened, finished and
 * committed: the commit waits for the prefix check) against an uninterrupted one of the same
 * size, alternating over pairs, median per-pair ratio.
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
    // Reopen → first accepted write, on a second 1 GiB partial (closed with a checkpoint),
    // next to open → first write on an empty ref.
    const firstWrite = async (r: string): Promise<number> => {
      const t = now();
      const wr = await store.writer({ ref: r });
      await wr.write(chunk);
      const ms = now() - t;
      await wr.close();
      return ms;
    };
    const partial = 'resume-first-write';
    const wp = await store.writer({ ref: partial });
    for (let at = 0, i = 0; at < size; at += MiB, i++) {
      chunk.writeDoubleLE(i + 0.5, 0);
      await wp.write(chunk);
    }
    await wp.close();
    const firstResumed: number[] = [];
    const firstFresh: number[] = [];
    for (let i = 0; i < 5; i++) {
      firstResumed.push(await firstWrite(partial));
      firstFresh.push(await firstWrite(`fresh-${i}`));
      await store.abort(`fresh-${i}`);
    }
    await store.abort(partial);

    // A resumed ingest end to end vs an uninterrupted one: pairs in alternating order.
    let run = 0;
    const whole = async (interrupted: boolean): Promise<number> => {
      const r = `whole-${run++}`;
      const t = now();
      let wr = await store.writer({ ref: r });
      for (let at = 0, i = 0; at < size; at += MiB, i++) {
        if (interrupted && at === size / 2) {
          await wr.close();
          wr = await store.writer({ ref: r });
        }
        chunk.writeDoubleLE(run * 1e6 + i, 0);
        await wr.write(chunk);
      }
      const d = await wr.commit();
      const ms = now() - t;
      await store.delete(d);
      return ms;
    };
    const ratios: number[] = [];
    const plain: number[] = [];
    const resumed: number[] = [];
    for (let i = 0; i < (ctx.quick ? 2 : 4); i++) {
      let p: number;
      let r: number;
      if (i % 2 === 0) {
        p = await whole(false);
        r = await whole(true);
      } else {
        r = await whole(true);
        p = await whole(false);
      }
      plain.push(p);
      resumed.push(r);
      ratios.push(r / p);
    }
    ctx.log(`  first write after reopen ${median(firstResumed).toFixed(1)} ms (fresh ${median(firstFresh).toFixed(1)} ms); resumed/uninterrupted ${median(ratios).toFixed(2)}`);

    const cp = median(withCp);
    const fm = median(full);
    rows.push(
      row(S, `reopen of a ${label} partial → first write accepted`, median(firstResumed), 'ms', { name: 'open of an empty ref → first write', value: median(firstFresh) }, { on: 'value', goal: 'lower', limit: 50 }, `median of 5; the prefix is verified in the background`),
    );
    rows.push(
      row(S, `${label} ingest resumed half-way (prefix verified before commit)`, median(resumed), 'ms', { name: 'the same ingest uninterrupted', value: median(plain) }, undefined, `median per-pair ratio ${median(ratios).toFixed(2)} over ${ratios.length} alternating pairs`),
    );
    ctx.log(`  reopen with checkpoint ${cp.toFixed(2)} ms; full re-hash ${fm.toFixed(0)} ms`);
    rows.push(row(S, `reopen ${label} partial ingest, checkpoint`, cp, 'ms', { name: 'reopen with full re-hash', value: fm }, { on: 'ratio', goal: 'lower', limit: 0.02 }, `median of ${withCp.length}; writer open → digest ready`));
    rows.push(row(S, `full re-hash of ${label} on reopen (no checkpoint)`, mbps(size, fm), 'MB/s', { name: 'hash-wasm SHA-256 1 thread (in memory)', value: wasm }, undefined, `median of ${full.length}; reads the data file (page cache) and hashes in the pool, one chain`));
  } finally {
    removeTemp(root);
  }
  return rows;
}

export const resumeSuite: Suite = { name: 'resume', description: 'reopen of a large partial ingest: checkpoint vs full re-hash', run };
