/**
 * The CLI on a real terminal: the `dist add` progress bar as a person sees it (tmux), the
 * notice a waiting `dist ingest` prints, and `ingest` refusing to read a terminal.
 */
import { open, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { digestOf, randomBytes } from './helpers/bytes.js';
import { runCli } from './helpers/cli.js';
import { distCommand, inPty, inTmux, lastLine, shq } from './helpers/terminal.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(cleanupAll);

const BAR = /^add \[[#.]{20}\] \d+%  (\d+)\/(\d+)(\+?) files  \S+\/\S+  \S+\/s  ETA \S+$/;

describe('dist add progress bar on a terminal', () => {
  // Regression (issue 9): the bar was erased after every file and redrawn at most every
  // 100 ms, so a run that prints a line per file showed a blank bar row throughout.
  it('stays on screen below the DIGEST  PATH lines while files are added, and is gone at the end', async () => {
    const tmp = await makeTempDir('ck-bar-');
    const src = join(tmp.dir, 'src');
    spawnSync('mkdir', ['-p', src]);
    const files: string[] = [];
    for (let i = 0; i < 200; i++) {
      const f = join(src, `f${String(i).padStart(3, '0')}`);
      await writeFile(f, randomBytes(1024 + i));
      files.push(f);
    }
    const fifo = join(tmp.dir, 'paths');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const root = join(tmp.dir, 'store');
    const pane = inTmux(tmp.dir, `${distCommand()} --root ${shq(root)} add - < ${shq(fifo)}`, { env: { DIST_JOBS: '1' } });
    try {
      // The paths come through a FIFO the test feeds: the run is mid-way for as long as it stays open.
      const feed = await open(fifo, 'w');
      try {
        for (const [batch, upTo] of [[files.slice(0, 100), 100], [files.slice(100), 200]] as const) {
          await feed.write(batch.map((f) => `${f}\n`).join(''));
          const rows = await pane.waitFor((r) => BAR.exec(lastLine(r))?.[1] === String(upTo));
          const m = BAR.exec(lastLine(rows))!;
          expect(m.slice(1)).toEqual([String(upTo), String(upTo), '+']);
          // The lines above the bar are the files added, whole (not cut by the bar).
          const above = rows.filter((r) => r.startsWith('sha256:'));
          expect(above.length).toBeGreaterThan(0);
          for (const r of above) expect(r).toMatch(/^sha256:[0-9a-f]{64}  \/\S+\/f\d{3}$/);
          // Idle input, work still open: the bar stays (it was erased within 1 ms before).
          await new Promise((r) => setTimeout(r, 400));
          expect(lastLine(pane.screen())).toMatch(BAR);
        }
      } finally {
        await feed.close();
      }
      const end = await pane.waitFor((r) => r.some((l) => l.startsWith('[exit ')));
      expect(end).toContain('[exit 0]');
      expect(end.some((l) => /^added 200 file\(s\), .*: 200 new, 0 already present; .*\/s$/.test(l))).toBe(true);
      expect(end.some((l) => l.includes('add ['))).toBe(false);
      expect(await readdir(join(root, 'blobs', 'sha256'))).toHaveLength(200);
    } finally {
      pane.kill();
    }
  });
});

describe('dist ingest on a terminal', () => {
  it('a ref held by another process: says once on stderr what it waits for (holder pid@host, age), then finishes', async () => {
    const tmp = await makeTempDir('ck-wait-');
    const root = join(tmp.dir, 'store');
    const store = openStore(root);
    const data = randomBytes(5000);
    await writeFile(join(tmp.dir, 'input'), data);
    const w = await store.writer({ ref: 'held' });
    const run = inPty(`${distCommand()} --root ${shq(root)} ingest held < ${shq(join(tmp.dir, 'input'))}`);
    try {
      const deadline = Date.now() + 20_000;
      while (!run.output().includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // Waiting goes on (the writer polls every 50 ms): the notice is still said once.
      await new Promise((r) => setTimeout(r, 700));
      const said = run.output();
      expect(said).toMatch(new RegExp(`^waiting for ref "held", held by pid ${process.pid}@${hostname()} for [\\d.]+m?s; waiting until it is released \\(--no-wait fails at once\\)\\r\\n$`));
      await w.close();
      expect(await run.exited).toBe(0);
      expect(run.output().match(/waiting for ref/g)).toHaveLength(1);
      expect(run.output()).toContain(`${digestOf(data)}\r\n`);
    } finally {
      run.kill();
      await w.close();
      await store.close();
    }
  });

  it('says nothing about waiting when stderr is not a terminal', async () => {
    const tmp = await makeTempDir('ck-wait-');
    const root = join(tmp.dir, 'store');
    const store = openStore(root);
    const w = await store.writer({ ref: 'held' });
    const run = runCli(['ingest', '--wait=1s', '--expected-size', '1', 'held'], { root, input: 'x' });
    const r = await run;
    await w.close();
    await store.close();
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^dist: ref "held" is locked: held by pid \d+ on \S+ for [\d.]+s\n$/);
  });

  it('refuses stdin on a terminal (exit 2), like gzip, and touches nothing', async () => {
    const tmp = await makeTempDir('ck-tty-');
    const root = join(tmp.dir, 'store');
    const run = inPty(`${distCommand()} --root ${shq(root)} ingest my-ref`);
    expect(await run.exited).toBe(2);
    expect(run.output()).toBe('dist: stdin is a terminal: pipe or redirect the content, e.g. dist ingest REF < FILE (see --help)\r\n');
    expect(spawnSync('test', ['-e', root]).status).toBe(1);
  });
});
