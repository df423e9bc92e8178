/**
 * A store the user may read but not write (issue 9): writing commands say
 * `permission denied: PATH` and exit 10 (PermissionDenied), reading commands work.
 * As root, permission bits do not bind, so the CLI runs as `nobody` (setpriv); otherwise
 * the store is made read-only with chmod. Either way the kernel refuses for real.
 */
import { chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { EXIT_CODES } from '../src/errors.js';
import { randomBytes } from './helpers/bytes.js';
import { distBinDir, runCli, runShell, type RunResult } from './helpers/cli.js';
import { shq } from './helpers/terminal.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';
import { putBlob } from './suite/fixture.js';

afterAll(cleanupAll);

const isRoot = process.getuid?.() === 0;
let root: string;
let bin: string;
let blob: string;

beforeAll(async () => {
  const tmp = await makeTempDir('ck-ro-');
  await chmod(tmp.dir, 0o755); // mkdtemp makes it 0700: `nobody` must reach the store
  root = join(tmp.dir, 'store');
  const store = openStore(root);
  blob = await putBlob(store, 'present', randomBytes(1000));
  const w = await store.writer({ ref: 'resumable' });
  await w.write(randomBytes(100));
  await w.close();
  await store.close();
  bin = await distBinDir(tmp.dir);
  await chmod(bin, 0o755);
  if (!isRoot) for (const d of [join(root, 'blobs', 'sha256'), join(root, 'blobs'), join(root, 'ingest'), root]) await chmod(d, 0o555);
});

/** `dist --root ROOT ...args` as a user who may not write the store. */
function dist(args: string[], input?: string): Promise<RunResult> {
  const cmd = `dist --root ${shq(root)} ${args.map(shq).join(' ')}`;
  return runShell(isRoot ? `setpriv --reuid=65534 --regid=65534 --clear-groups ${cmd}` : cmd, { binDir: bin, input });
}

function expectDenied(r: RunResult, path: string): void {
  expect(r.code, r.stderr).toBe(EXIT_CODES.PermissionDenied);
  expect(r.stderr).toMatch(new RegExp(`^dist: permission denied: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[/ ][^\\n]*\\n$`));
}

describe('a read-only store', () => {
  it('ingest: permission denied naming the ingest directory, exit 10', async () => {
    expectDenied(await dist(['ingest', 'new-ref'], 'data'), join(root, 'ingest'));
  });

  it('add: each file fails with permission denied, exit 10', async () => {
    const r = await dist(['add', '-'], `${join(bin, 'dist')}\n`);
    expect(r.code, r.stderr).toBe(EXIT_CODES.PermissionDenied);
    expect(r.stderr).toMatch(/^dist: .*permission denied: /m);
    expect(r.stdout).toBe('');
  });

  it('delete: permission denied naming what it could not write, exit 10; the blob stays', async () => {
    // delete decides under the collector's exclusive lock (gc/), the first thing it writes.
    expectDenied(await dist(['delete', blob]), join(root, 'gc'));
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([blob.slice(7)]);
  });

  it('prune: an ingest it may not remove is reported (permission denied naming the ingest dir, exit 10), not counted as kept', async () => {
    const r = await dist(['prune', '--older-than', '0']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.PermissionDenied);
    expect(r.stderr).toMatch(new RegExp(`^dist: permission denied: ${join(root, 'ingest').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    expect(r.stderr).toMatch(/; 1 could not be removed\n$/);
  });

  it('reading commands still work', async () => {
    const l = await dist(['list', '-q']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout).toBe(`${blob}\n`);
    const a = await dist(['active', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as Array<{ ref: string }>).map((s) => s.ref)).toEqual(['resumable']);
    expect((await dist(['cat', blob])).stdoutBytes.length).toBe(1000);
  });

  it('--help documents exit code 10 PermissionDenied', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(/^ {2}10 {3}PermissionDenied$/m);
  });
});
