/**
 * The `dist` CLI, run as the compiled program (node dist/src/cli/main.js) in real child
 * processes: every command, --json, --help, error lines and exit codes, and shell
 * pipelines with many concurrent ingests into one store.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type LocalStore } from '../src/index.js';
import { EXIT_CODES } from '../src/errors.js';
import { absentDigest, digestOf, randomBytes } from './helpers/bytes.js';
import { distBinDir, runCli, runShell, spawnCli, type RunResult } from './helpers/cli.js';
import { cleanupAll, makeTempDir, type TempDir } from './helpers/tmp.js';
import { snapshotTree } from './helpers/tree.js';
import { putBlob } from './suite/fixture.js';

afterAll(cleanupAll);

const USAGE = 2;

/** An error is exactly one line `dist: <message>` on stderr, with the kind's exit code. */
function expectErrorLine(r: RunResult, code: number, ...mentions: string[]): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^dist: [^\n]+\n$/);
  for (const m of mentions) expect(r.stderr).toContain(m);
}

function ok(r: RunResult): RunResult {
  expect(r.code, `exit ${r.code}; stderr: ${r.stderr}`).toBe(0);
  return r;
}

describe('dist CLI', () => {
  let tmp: TempDir;
  let root: string;
  let store: LocalStore;

  beforeEach(async () => {
    tmp = await makeTempDir('ck-cli-');
    root = join(tmp.dir, 'store');
    store = openStore(root);
  });

  afterEach(async () => {
    await store.close();
    await tmp.cleanup();
  });

  const dist = (args: string[], input?: string | Uint8Array) => runCli(args, { root, input });

  describe('help and usage', () => {
    it('--help works on the program and on every command', async () => {
      const top = ok(await runCli(['--help']));
      expect(top.stdout).toMatch(/^Usage: dist /);
      expect(top.stdout).toContain('DIST_ROOT');
      expect(top.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      for (const [kind, code] of Object.entries(EXIT_CODES)) if (kind !== 'Internal') expect(top.stdout).toMatch(new RegExp(`${code}\\s+${kind}`));
      const after = top.stdout.slice(top.stdout.indexOf('Commands:\n') + 'Commands:\n'.length);
      const section = after.slice(0, after.search(/\n\s*\n|$/));
      const commands = [...section.matchAll(/^ {2}(\w+)(?:\|\w+)?\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
      for (const required of ['ingest', 'list', 'info', 'path', 'cat', 'delete', 'active', 'abort']) expect(commands).toContain(required);
      const results = await Promise.all(commands.map((c) => runCli([c, '--help'])));
      results.forEach((r, i) => {
        expect(r.code, `${commands[i]} --help: ${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^Usage: dist ${commands[i]}\\b`));
        expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      });
    });

    it('unknown commands, unknown options, missing arguments and malformed numbers are usage errors (exit 2)', async () => {
      const d = await putBlob(store, 'x', randomBytes(10));
      for (const args of [['bogus'], ['list', '--bogus'], ['cat'], ['cat', d, '--offset', 'abc'], ['cat', d, '--length', '-1'], ['ingest', '--expected-size', '1.5', 'r']]) {
        const r = await dist(args, '');
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(USAGE);
        expect(r.stderr.split('\n')[0]).toMatch(/^dist: \S/);
        expect(r.stdout).toBe('');
      }
    });
  });

  describe('ingest', () => {
    it('reads stdin into the store and prints the committed digest', async () => {
      const data = randomBytes(300_000);
      const r = ok(await dist(['ingest', 'my-upload'], data));
      expect(r.stdout).toBe(`${digestOf(data)}\n`);
      // Nothing to verify against: the size committed is said, so a producer that stopped
      // early does not pass unnoticed (issue 9).
      expect(r.stderr).toBe('committed 300000 bytes (293KiB) unverified: no --expected-size or --expected-digest\n');
      expect((await store.info(digestOf(data))).size).toBe(300_000);
      expect(await store.listStatuses()).toEqual([]);
    });

    it('verifies --expected-digest and --expected-size, and needs no REF when a digest is expected', async () => {
      const data = randomBytes(5000);
      const d = digestOf(data);
      const r = ok(await dist(['ingest', '--expected-digest', d, '--expected-size', '5000'], data));
      expect(r.stdout).toBe(`${d}\n`);
      expect(r.stderr).toBe('');
      const d512 = digestOf(data, 'sha512');
      expect(ok(await dist(['ingest', '--expected-digest', d512, 'as-sha512'], data)).stdout).toBe(`${d512}\n`);
      expect((await store.info(d512)).size).toBe(5000);
    });

    it('content that already exists: `content with digest D already exists` on stderr, exit 0', async () => {
      const data = randomBytes(2000);
      const d = await putBlob(store, 'first', data);
      for (const args of [['ingest', '--expected-digest', d], ['ingest', 'another-ref']]) {
        const r = ok(await dist(args, data));
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`content with digest ${d} already exists\n`);
      }
      expect(await store.listStatuses()).toEqual([]);
    });

    it('a digest mismatch is FailedPrecondition (exit 6) naming both digests; the partial ingest is kept', async () => {
      const data = randomBytes(1000);
      const wrong = absentDigest();
      const r = await dist(['ingest', '--expected-digest', wrong, 'mismatch'], data);
      expectErrorLine(r, EXIT_CODES.FailedPrecondition, wrong, digestOf(data));
      expect(r.stdout).toBe('');
      expect((await store.status('mismatch')).offset).toBe(1000);
      await expect(store.info(wrong)).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('a size mismatch is FailedPrecondition (exit 6) naming both sizes', async () => {
      const r = await dist(['ingest', '--expected-size', '999', 'sized'], randomBytes(1000));
      expectErrorLine(r, EXIT_CODES.FailedPrecondition, '999', '1000');
    });

    it('a malformed --expected-digest is a usage error (exit 2), like every malformed option value, and touches nothing', async () => {
      const before = await snapshotTree(root);
      for (const bad of ['sha256:../../etc', `sha256:${'A'.repeat(64)}`, 'md5:abc', '']) {
        expectErrorLine(await dist(['ingest', '--expected-digest', bad, 'r'], 'data'), USAGE, '--expected-digest');
      }
      expect(await snapshotTree(root)).toEqual(before);
    });

    it('resumes a ref that holds partial data: that many bytes of stdin are skipped', async () => {
      // The partial data deliberately differs from stdin's first bytes: only a skip (not a
      // rewrite) yields this digest.
      const partial = Buffer.alloc(1000, 0x41);
      const w = await store.writer({ ref: 'resumable' });
      await w.write(partial);
      await w.close();
      const input = randomBytes(5000);
      const want = Buffer.concat([partial, input.subarray(1000)]);
      const r = ok(await dist(['ingest', '--expected-digest', digestOf(want), '--expected-size', '5000', 'resumable'], input));
      expect(r.stdout).toBe(`${digestOf(want)}\n`);
      expect((await readFile(await store.path(digestOf(want)))).equals(want)).toBe(true);
    });

    it('an interrupted ingest (SIGINT) exits 130 keeping every byte it received; a rerun resumes it to the right digest', async () => {
      const MiB = 1024 * 1024;
      const sent = 3 * MiB + 200_000;
      const full = randomBytes(5 * MiB);
      const child = spawnCli(['ingest', 'interrupted'], { root });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        child.stdin.write(full.subarray(0, sent));
        // The ingest streams to disk while stdin is still open…
        const deadline = Date.now() + 30_000;
        for (;;) {
          const st = await store.status('interrupted').catch(() => undefined);
          if ((st?.offset ?? 0) >= 3 * MiB) break;
          if (Date.now() > deadline) throw new Error(`ingest never reached 3 MiB on disk (offset ${st?.offset}); stderr: ${stderr}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        // …and has read the rest of what was sent (a pipe drains in microseconds).
        await new Promise((r) => setTimeout(r, 1000));
        // stdin stays open (a stalled download): the interrupt alone must end the ingest.
        child.kill('SIGINT');
        const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 10 s after SIGINT'), 10_000))]);
        expect(code).toBe(130);
      } finally {
        child.kill('SIGKILL');
      }
      expect(stderr).toMatch(/^dist: [^\n]+\n$/);
      expect(await store.status('interrupted')).toMatchObject({ offset: sent, state: 'idle' });

      const r = ok(await dist(['ingest', '--expected-digest', digestOf(full), 'interrupted'], full));
      expect(r.stdout).toBe(`${digestOf(full)}\n`);
      expect((await readFile(await store.path(digestOf(full)))).equals(full)).toBe(true);
    });

    // Regression (issue 9): a producer that dies early used to commit its partial output in
    // silence. Unverified, the commit is still made (nothing tells it from a complete input)
    // but its size is said; with --expected-size the short input fails and stays resumable.
    it('a producer that dies early: unverified, the committed size is said; with --expected-size, exit 6 and resumable', async () => {
      const bin = await distBinDir(tmp.dir);
      const dying = `{ head -c 3000 /dev/zero; kill -9 $BASHPID; }`;
      const r = await runShell(`${dying} | dist ingest my-download`, { binDir: bin, env: { DIST_ROOT: root } });
      expect(r.code, r.stderr).toBe(137); // pipefail: the producer's SIGKILL; dist itself exited 0
      expect(r.stdout).toBe(`${digestOf(Buffer.alloc(3000))}\n`);
      // (bash adds its own "Killed" job line after dist's.)
      expect(r.stderr.startsWith('committed 3000 bytes (2.9KiB) unverified: no --expected-size or --expected-digest\n')).toBe(true);

      const v = await runShell(`${dying} | dist ingest --expected-size 10000 verified-download`, { binDir: bin, env: { DIST_ROOT: root } });
      expect(v.stdout).toBe('');
      expect(v.stderr).toMatch(/^dist: [^\n]*\b3000\b[^\n]*\b10000\b[^\n]*"verified-download"[^\n]*\n/);
      expect(await store.status('verified-download')).toMatchObject({ offset: 3000, state: 'idle' });
    });

    it('--no-wait on a ref held by another process is Unavailable (exit 5) naming the holder', async () => {
      const w = await store.writer({ ref: 'held' });
      try {
        const r = await dist(['ingest', '--no-wait', 'held'], 'x');
        expectErrorLine(r, EXIT_CODES.Unavailable, 'held', String(process.pid));
      } finally {
        await w.close();
      }
    });

    it('uses $DIST_ROOT when --root is not given, and --root wins over $DIST_ROOT', async () => {
      const data = randomBytes(100);
      const r = ok(await runCli(['ingest', 'env-ref'], { env: { DIST_ROOT: root }, input: data }));
      expect(r.stdout).toBe(`${digestOf(data)}\n`);
      expect((await store.info(digestOf(data))).size).toBe(100);

      const elsewhere = join(tmp.dir, 'elsewhere');
      const other = randomBytes(100);
      ok(await runCli(['ingest', 'flag-ref'], { root, env: { DIST_ROOT: elsewhere }, input: other }));
      expect((await store.info(digestOf(other))).size).toBe(100);
      // A read-only command does not create the root it is pointed at.
      const listed = await runCli(['list', '-q'], { env: { DIST_ROOT: elsewhere } });
      expectErrorLine(listed, EXIT_CODES.NotFound, `store root ${elsewhere} does not exist`);
      await expect(readdir(elsewhere)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe('reading commands', () => {
    let blobs: Buffer[];
    let digests: string[];
    beforeEach(async () => {
      blobs = [randomBytes(10), randomBytes(2048), randomBytes(3 * 1024 * 1024)];
      digests = [];
      for (const [i, b] of blobs.entries()) digests.push(await putBlob(store, `blob-${i}`, b));
    });

    it('list prints aligned DIGEST SIZE AGE columns; -q prints digests only; --json parses', async () => {
      const r = ok(await dist(['list']));
      const [header, ...rows] = r.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^DIGEST\s+SIZE\s+AGE$/);
      const sizeAt = header!.indexOf('SIZE');
      const ageAt = header!.indexOf('AGE');
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        expect(row.slice(sizeAt - 2, sizeAt)).toBe('  ');
        expect(row[sizeAt]).toMatch(/\d/);
        expect(row.slice(ageAt - 2, ageAt)).toMatch(/ $/);
        expect(row[ageAt]).toMatch(/\d/);
        expect(digests).toContain(row.slice(0, sizeAt).trim());
      }

      // -q lists in the table's order (issue 9: the table was sorted, -q was not).
      const q = ok(await dist(['list', '-q']));
      expect(q.stdout.trimEnd().split('\n')).toEqual([...digests].sort());
      expect(rows.map((row) => row.split(/\s+/)[0])).toEqual([...digests].sort());

      const j = ok(await dist(['list', '--json']));
      const parsed = JSON.parse(j.stdout) as Array<{ digest: string; size: number; createdAt: string }>;
      expect(parsed.map((p) => [p.digest, p.size]).sort()).toEqual(digests.map((d, i) => [d, blobs[i]!.length]).sort());
      for (const p of parsed) expect(Number.isNaN(Date.parse(p.createdAt))).toBe(false);
    });

    it('info shows DIGEST SIZE AGE LABELS as list does (human units); --json has exact bytes; a missing digest is NotFound (exit 3) and the others still print', async () => {
      const r = ok(await dist(['info', digests[0]!, digests[1]!]));
      expect(r.stdout.split('\n')[0]).toMatch(/^DIGEST\s+SIZE\s+AGE\s+LABELS$/);
      expect(r.stdout).toMatch(new RegExp(`^${digests[0]}\\s+10B\\s+[\\d.]+m?s\\s+-$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^${digests[1]}\\s+2\\.0KiB\\s+[\\d.]+m?s\\s+-$`, 'm'));

      const j = ok(await dist(['info', '--json', ...digests]));
      expect((JSON.parse(j.stdout) as Array<{ digest: string; size: number }>).map((i) => [i.digest, i.size])).toEqual(
        digests.map((d, i) => [d, blobs[i]!.length]),
      );

      const missing = absentDigest();
      const m = await dist(['info', '--json', digests[0]!, missing]);
      expectErrorLine(m, EXIT_CODES.NotFound, missing);
      expect((JSON.parse(m.stdout) as Array<{ digest: string }>).map((i) => i.digest)).toEqual([digests[0]]);

      expectErrorLine(await dist(['info', 'sha256:../../etc']), EXIT_CODES.InvalidArgument, 'sha256:../../etc');
    });

    it('path prints DIGEST and path, -q the paths only; each path holds the blob', async () => {
      const r = ok(await dist(['path', digests[0]!, digests[1]!]));
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      for (const [i, line] of lines.entries()) {
        const [d, p] = line.split(/\s+/);
        expect(d).toBe(digests[i]);
        expect(p).toBe(join(root, 'blobs', 'sha256', digests[i]!.slice(7)));
        expect((await readFile(p!)).equals(blobs[i]!)).toBe(true);
      }
      const q = ok(await dist(['path', '-q', digests[2]!]));
      expect(q.stdout).toBe(`${join(root, 'blobs', 'sha256', digests[2]!.slice(7))}\n`);
      expectErrorLine(await dist(['path', absentDigest()]), EXIT_CODES.NotFound);
    });

    it('cat writes the blob, or the range given by --offset and --length, byte for byte', async () => {
      const big = blobs[2]!;
      expect(ok(await dist(['cat', digests[2]!])).stdoutBytes.equals(big)).toBe(true);
      expect(ok(await dist(['cat', digests[2]!, '--offset', '1000000'])).stdoutBytes.equals(big.subarray(1_000_000))).toBe(true);
      expect(ok(await dist(['cat', digests[2]!, '--length', '7'])).stdoutBytes.equals(big.subarray(0, 7))).toBe(true);
      expect(ok(await dist(['cat', digests[2]!, '--offset', '65530', '--length', '100'])).stdoutBytes.equals(big.subarray(65_530, 65_630))).toBe(true);
      expect(ok(await dist(['cat', digests[0]!, '--offset', '5', '--length', '100'])).stdoutBytes.equals(blobs[0]!.subarray(5))).toBe(true);
      expect(ok(await dist(['cat', digests[0]!, '--length', '0'])).stdoutBytes.length).toBe(0);
      expect(ok(await dist(['cat', digests[0]!, '--offset', '10'])).stdoutBytes.length).toBe(0);
      const missing = absentDigest();
      const m = await dist(['cat', missing]);
      expectErrorLine(m, EXIT_CODES.NotFound, missing);
      expect(m.stdout).toBe('');
      expectErrorLine(await dist(['cat', `sha256:${'A'.repeat(64)}`]), EXIT_CODES.InvalidArgument);
    });

    it('delete removes the digests given, or read from stdin with `-`; a missing one is NotFound (exit 3)', async () => {
      ok(await dist(['delete', digests[0]!]));
      await expect(store.info(digests[0]!)).rejects.toMatchObject({ kind: 'NotFound' });
      ok(await dist(['delete', '-'], `${digests[1]}\n${digests[2]}\n`));
      for (const d of digests) await expect(store.info(d)).rejects.toMatchObject({ kind: 'NotFound' });
      const again = await dist(['delete', digests[0]!]);
      expectErrorLine(again, EXIT_CODES.NotFound, digests[0]!);
    });
  });

  describe('ingests', () => {
    it('active lists resumable ingests (table and --json); abort discards them', async () => {
      const w = await store.writer({ ref: 'partial-upload', total: 4000 });
      await w.write(randomBytes(1000));
      await w.close();

      const t = ok(await dist(['active']));
      const [header, row] = t.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^REF\s+OFFSET\s+TOTAL\b.*\bSTATE$/);
      expect(row).toMatch(/^partial-upload\s+1000\s+4000\b/);
      expect(row).toMatch(/\bidle$/);

      const j = JSON.parse(ok(await dist(['active', '--json'])).stdout) as Array<Record<string, unknown>>;
      expect(j).toHaveLength(1);
      expect(j[0]).toMatchObject({ ref: 'partial-upload', offset: 1000, total: 4000, state: 'idle' });
      expect(Number.isNaN(Date.parse(j[0]!.startedAt as string))).toBe(false);

      ok(await dist(['abort', 'partial-upload']));
      expect(await store.listStatuses()).toEqual([]);
      expect(JSON.parse(ok(await dist(['active', '--json'])).stdout)).toEqual([]);
      expectErrorLine(await dist(['abort', 'partial-upload']), EXIT_CODES.NotFound, 'partial-upload');
    });

    it('abort of a ref held by another process is Unavailable (exit 5) and keeps its data', async () => {
      const w = await store.writer({ ref: 'busy' });
      try {
        await w.write(randomBytes(10));
        expectErrorLine(await dist(['abort', 'busy']), EXIT_CODES.Unavailable, String(process.pid));
        expect((await w.status()).offset).toBe(10);
      } finally {
        await w.close();
      }
    });
  });

  describe('pipelines', () => {
    it('`dist list -q | xargs dist delete` empties the store', async () => {
      for (let i = 0; i < 12; i++) await putBlob(store, `p-${i}`, randomBytes(100 + i));
      const bin = await distBinDir(tmp.dir);
      const r = await runShell('dist list -q | xargs dist delete && dist list -q | wc -l', { binDir: bin, env: { DIST_ROOT: root } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('0');
      expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
    });

    for (const mode of ['with --expected-digest (refs collide, duplicates found at open)', 'with unique refs (duplicates found at commit)']) {
      it(`40 \`dist ingest\` processes under xargs -P10 over 15 overlapping blobs, ${mode}: all exit 0, each blob stored once, ingest/ left empty`, async () => {
        const src = join(tmp.dir, 'src');
        const bin = await distBinDir(tmp.dir);
        await runShell(`mkdir -p ${JSON.stringify(src)}`, { binDir: bin });
        const want = new Map<string, Buffer>();
        for (let i = 0; i < 15; i++) {
          const b = randomBytes(100_000 + i * 97_000);
          want.set(digestOf(b), b);
          await writeFile(join(src, `blob-${i}`), b);
        }
        const digests = [...want.keys()];
        const jobs: string[] = [];
        for (let j = 0; j < 40; j++) {
          const i = (j * 7) % 15;
          jobs.push(mode.startsWith('with --expected') ? `${join(src, `blob-${i}`)} --expected-digest ${digests[i]}` : `${join(src, `blob-${i}`)} job-${j}`);
        }
        await writeFile(join(tmp.dir, 'jobs'), jobs.join('\n') + '\n');
        const r = await runShell(`xargs -P10 -L1 sh -c 'f=$0; exec dist ingest "$@" < "$f"' < ${JSON.stringify(join(tmp.dir, 'jobs'))}`, {
          binDir: bin,
          env: { DIST_ROOT: root },
        });
        expect(r.code, r.stderr).toBe(0);
        const printed = r.stdout.trimEnd().split('\n');
        expect(printed.sort()).toEqual([...digests].sort());
        const notes = r.stderr.trimEnd().split('\n');
        const existing = notes.filter((n) => n.startsWith('content with digest'));
        expect(existing).toHaveLength(25);
        for (const n of existing) expect(n).toMatch(/^content with digest sha256:[0-9a-f]{64} already exists$/);
        // Without --expected-digest, each fresh commit says its size (unverified).
        const unverified = notes.filter((n) => !n.startsWith('content with digest'));
        expect(unverified).toHaveLength(mode.startsWith('with --expected') ? 0 : 15);
        for (const n of unverified) expect(n).toMatch(/^committed \d+ bytes \(\S+\) unverified: no --expected-size or --expected-digest$/);

        const stored = await readdir(join(root, 'blobs', 'sha256'));
        expect(stored.sort()).toEqual(digests.map((d) => d.slice(7)).sort());
        for (const [d, b] of want) expect((await readFile(await store.path(d))).equals(b), d).toBe(true);
        expect(await snapshotTree(join(root, 'ingest'))).toEqual({});
      });
    }
  });
});
