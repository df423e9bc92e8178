/**
 * The naive driver and layer apply as an unprivileged user (uid 65534, a real child
 * process): prepare/commit/view work, the default driver is naive, overlay says why it
 * cannot mount, device nodes are skipped with a warning and owners are left alone.
 * Needs root to start the child as another user; elsewhere the suite itself runs unprivileged.
 */
import { spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT, requireBuild } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { tarOf } from '../archive/helpers/layer.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('unprivileged tests: not started as root, so they cannot switch user; the whole suite already runs unprivileged\n');
const lib = (p: string) => pathToFileURL(resolve(REPO_ROOT, 'dist/src', p)).href;

function asNobody(source: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { uid: NOBODY, gid: NOBODY, env: { ...process.env, ...env }, cwd: '/' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ck-nobody-'));
  if (isRoot) await chown(dir, NOBODY, NOBODY);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.runIf(isRoot)('as uid 65534', () => {
  test('naive snapshots: prepare, write, commit, view; the default driver is naive; overlay refuses with a reason', async () => {
    const r = await asNobody(`
      import { openSnapshotter } from ${JSON.stringify(lib('snapshots/open.js'))};
      import { probeOverlay, withMounts } from ${JSON.stringify(lib('snapshots/mount.js'))};
      import { readFile, writeFile } from 'node:fs/promises';
      const root = ${JSON.stringify(join(dir, 'store'))};
      const sn = await openSnapshotter(root);
      await sn.prepare('a');
      await withMounts(await sn.mounts('a'), () => sn.mountTarget(), (d) => writeFile(d + '/f', 'mine'));
      await sn.commit('c', 'a');
      await sn.view('v', 'c');
      const text = await withMounts(await sn.mounts('v'), () => sn.mountTarget(), (d) => readFile(d + '/f', 'utf8'));
      let overlay;
      try { await openSnapshotter(root, 'overlay'); } catch (err) { overlay = err.code + ': ' + err.message; }
      console.log(JSON.stringify({ driver: sn.driver, text, overlay, probe: await probeOverlay() }));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      driver: 'naive',
      text: 'mine',
      probe: 'not running as root',
      overlay: 'ERR_OVERLAY_UNAVAILABLE: the overlay snapshotter cannot mount here: not running as root',
    });
  });

  test('dist apply: device nodes skipped with one warning, files owned by the user, exit 0', async () => {
    const layer = await tarOf([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'etc/owned-by-root', data: 'x', uid: 0, gid: 0 },
    ]);
    const target = join(dir, 'applied');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [resolve(REPO_ROOT, 'dist/src/cli/main.js'), 'apply', target], { input: layer, uid: NOBODY, gid: NOBODY, cwd: '/' });
    expect(r.stderr.toString()).toBe('dist: warning: device nodes are skipped when not running as root (first: "dev/null")\n');
    expect(r.status).toBe(0);
    const { lstat, readdir } = await import('node:fs/promises');
    expect(await readdir(join(target, 'dev'))).toEqual([]);
    expect((await lstat(join(target, 'etc/owned-by-root'))).uid).toBe(NOBODY);
    // And the same layer as root makes the device.
    const asRoot = await runCli(['apply', join(dir, 'as-root')], { input: layer });
    expect([asRoot.code, asRoot.stderr]).toEqual([0, '']);
    expect((await lstat(join(dir, 'as-root', 'dev', 'null'))).isCharacterDevice()).toBe(true);
  });
});
