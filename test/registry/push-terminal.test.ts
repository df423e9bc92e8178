/**
 * `dist push` in a real terminal (tmux): the live table pull draws (a row per blob: ref,
 * state, bar, bytes), Ctrl-C ending the push with exit 130 and the interruption message,
 * and the rerun's closing lines — the name, its digest, and a summary saying what resumed.
 * Uploads go through a proxy slowed to 8 MiB/s, so the table is on screen long enough.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { distCommand, inTmux, shq } from '../helpers/terminal.js';
import { dist, expectOk } from './helpers/cli.js';
import { image, layer, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { remoteManifest } from './helpers/registry-read.js';

const MiB = 1 << 20;
let src: Registry;
let dst: Registry;
let proxy: Proxy;
let tmp: string;
let root: string;
let img: Image;

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startProxy(dst.host, { uploadRate: 8 * MiB });
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-tty-'));
  img = image([await layer([{ name: 'big.bin', size: 40 * MiB, seed: 'push-tty-big' }]), await layer([{ name: 's.bin', size: MiB, seed: 'push-tty-s' }])]);
  await pushImage({ host: src.host }, 'tty/app', 'v1', img);
  root = await mkdtemp(join(tmp, 'root-'));
  expectOk(await dist(['pull', '--plain-http', `${src.host}/tty/app:v1`], { root }));
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('a live table while uploading; Ctrl-C exits 130; the rerun resumes and ends with the name, digest and summary', async () => {
  const to = `${proxy.host}/tty/app:v1`;
  const push = `${distCommand()} --root ${shq(root)} push --plain-http ${shq(`${src.host}/tty/app:v1`)} ${shq(to)}`;
  const dir = await mkdtemp(join(tmp, 'tmux-'));
  // The shell traps SIGINT (so it outlives Ctrl-C and prints the exit status); dist gets it.
  const pane = inTmux(dir, `trap 'true' INT; ${push}; echo "[exit $?]"`, { cols: 140, env: { DIST_RETRY_BASE_MS: '20' } });
  try {
    const big = img.layers[0]!.digest;
    const rows = await pane.waitFor((r) => r.some((l) => l.startsWith(`layer-${big.slice(0, 20)}`) && /uploading\s+\[=+>? *\]\s+\d+(\.\d+)?MiB\/40MiB/.test(l)), 60_000);
    expect(rows.some((l) => /^config-sha256:\S+\s+(done|uploading)/.test(l))).toBe(true);
    expect(rows.some((l) => /^elapsed: \S+/.test(l))).toBe(true);
    await pane.waitFor((r) => r.some((l) => /uploading\s+\[=+>? *\]\s+([4-9]|\d\d)(\.\d+)?MiB\/40MiB/.test(l)), 60_000);
    spawnSync('tmux', ['-S', join(dir, 'tmux.sock'), 'send-keys', '-t', 't', 'C-c']);
    const end = await pane.waitFor((r) => r.some((l) => l.startsWith('[exit ')), 30_000);
    expect(end).toContain('[exit 130]');
    // (The terminal echoes ^C where the cursor was.)
    expect(end.some((l) => /^(\^C)?dist: interrupted by SIGINT$/.test(l))).toBe(true);
  } finally {
    pane.kill();
  }
  expect(await remoteManifest(dst.host, 'tty/app', 'v1')).toBeUndefined();

  proxy.options = {};
  const dir2 = await mkdtemp(join(tmp, 'tmux-'));
  const again = inTmux(dir2, `${push}; echo "[exit $?]"`, { cols: 140 });
  try {
    const end = await again.waitFor((r) => r.some((l) => l.startsWith('[exit ')), 60_000);
    expect(end).toContain('[exit 0]');
    expect(end).toContain(`${to}: ${img.manifest.digest}`);
    expect(end.some((l) => /^elapsed: \S+ +total: 41MiB \(4 blobs, [\d.]+MiB uploaded, [12] already there, 1 resumed\) +rate: /.test(l))).toBe(true);
  } finally {
    again.kill();
  }
  expect((await remoteManifest(dst.host, 'tty/app', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
}, 180_000);
