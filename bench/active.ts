/**
 * Suite `active` (issue 3): "With 1,000 ingests present it answers in under 200 ms".
 *
 * 1,000 idle ingests (writers that wrote a few bytes and closed) plus 3 active ones (held by
 * this process while measuring). Times `dist active --json` as a process (median of 5)
 * against `node -e ''` startup and the CLI on an empty store, and store.listStatuses()
 * in-process against the raw I/O floor (readFile of every status file).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore, type Writer } from '../src/index.js';
import { ingestKeys } from '../src/local/ingests.js';
import { ingestPathsForKey } from '../src/local/paths.js';
import { mapLimit, median, now, removeTemp, row, runCli, runProc, tempDir, type Ctx, type Row, type Suite } from './lib/common.js';

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'active';
  const rows: Row[] = [];
  const N = 1000;
  const base = tempDir('active');
  const root = join(base, 'store');
  const empty = join(base, 'empty');
  const held: Writer[] = [];
  try {
    const store = openStore(root);
    openStore(empty);
    const bytes = Buffer.from('a few bytes');
    const t = now();
    await mapLimit(Array.from({ length: N }, (_, i) => i), 8, async (i) => {
      const w = await store.writer({ ref: `idle-${i}` });
      await w.write(bytes);
      await w.close();
    });
    ctx.log(`  created ${N} idle ingests in ${((now() - t) / 1000).toFixed(1)} s`);
    for (let i = 0; i < 3; i++) {
      const w = await store.writer({ ref: `active-${i}` });
      await w.write(bytes);
      held.push(w);
    }

    const reps = 5;
    const cli: number[] = [];
    const emptyCli: number[] = [];
    const nodeE: number[] = [];
    for (let r = 0; r < reps; r++) {
      const res = await runCli(root, ['active', '--json'], { maxStdout: 64 << 20 });
      const list = JSON.parse(res.stdout) as Array<{ state: string }>;
      if (list.length !== N + 3 || list.filter((s) => s.state === 'active').length !== 3) {
        throw new Error(`dist active listed ${list.length} ingests (${list.filter((s) => s.state === 'active').length} active), expected ${N + 3} (3 active)`);
      }
      cli.push(res.ms);
      emptyCli.push((await runCli(empty, ['active', '--json'])).ms);
      const ne = await runProc(process.execPath, ['-e', '']);
      nodeE.push(ne.ms);
    }
    const nodeBase = { name: "node -e '' (process startup)", value: median(nodeE) };
    rows.push(row(S, `dist active --json, ${N} idle + 3 active (process)`, median(cli), 'ms', nodeBase, { on: 'value', goal: 'lower', limit: 200, strict: true }, `median of ${reps}; wall time incl. node startup`));
    rows.push(row(S, `dist active --json, ${N} idle + 3 active (process)`, median(cli), 'ms', { name: 'dist active --json, empty store', value: median(emptyCli) }, undefined, 'ratio shows the cost of the 1,003 ingests over the CLI itself'));

    // In-process
    const ls: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < 10; r++) {
      let t0 = now();
      const list = await store.listStatuses();
      ls.push(now() - t0);
      if (list.length !== N + 3) throw new Error(`listStatuses returned ${list.length}`);
      t0 = now();
      const keys = [...(await ingestKeys(store.root))];
      await mapLimit(keys, 64, async (k) => void (await readFile(ingestPathsForKey(store.root, k).status)));
      raw.push(now() - t0);
    }
    rows.push(row(S, `store.listStatuses(), ${N + 3} ingests (in-process)`, median(ls), 'ms', { name: 'readdir + readFile of every status', value: median(raw) }, { on: 'value', goal: 'lower', limit: 200, strict: true }, 'median of 10'));
  } finally {
    for (const w of held) await w.close().catch(() => {});
    removeTemp(base);
  }
  return rows;
}

export const activeSuite: Suite = { name: 'active', description: 'listing 1,000 ingests (dist active)', run };
