/**
 * `dist unpack` against a real registry (Debian docker-registry) and pulled images: chain-ID
 * snapshots, sharing between images, idempotence, two processes unpacking one image at once,
 * zstd layers, and a config whose diffID lies (DataLoss, nothing of that layer committed).
 */
import { readFile, readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chainIds } from '../../src/oci/image-config.js';
import { withMounts } from '../../src/snapshots/mount.js';
import { openSnapshotter } from '../../src/snapshots/open.js';
import { runCli } from '../helpers/cli.js';
import { spawnCli } from '../helpers/cli.js';
import { layer, type Image } from '../registry/helpers/image.js';
import { mountPoints } from '../../src/snapshots/mount.js';
import { pushImage, pushIndex } from '../registry/helpers/push.js';
import { index } from '../registry/helpers/image.js';
import { startRegistry, type Registry } from '../registry/helpers/registry.js';
import { baseEntries, churnEntries, layerOf, ociImage, topEntries } from './helpers/images.js';
import { probeOverlay } from '../../src/snapshots/mount.js';

const drivers = (await probeOverlay()) === undefined ? ['naive', 'overlay'] : ['naive'];
if (drivers.length === 1) process.stderr.write(`unpack tests: overlay NOT exercised: ${await probeOverlay()}\n`);

let reg: Registry;
let tmp: string;
const img: Record<string, Image> = {};
const name = (repo: string) => `${reg.host}/test/${repo}:v1`;

beforeAll(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'ck-unpack-'));
  const base = await layerOf(baseEntries(), 'gzip');
  const churn = await layerOf(churnEntries(), 'zstd');
  const top = await layerOf(topEntries(), 'none');
  img.app = ociImage([base, churn, top]);
  img.sibling = ociImage([base, await layerOf([{ name: 'sibling', data: 'only here\n' }])]);
  img.big = ociImage([base, await layer([{ name: 'big/a.bin', size: 48 << 20, seed: 'big-a' }, { name: 'big/b.bin', size: 48 << 20, seed: 'big-b' }])]);
  img.liar = ociImage([base, churn], {}, [base.diffId!, img.sibling.layers[1]!.diffId!]);
  for (const [repo, i] of Object.entries(img)) await pushImage({ host: reg.host }, `test/${repo}`, 'v1', i);
  const arm = { ...ociImage([base, await layerOf([{ name: 'arch', data: 'arm64\n' }])]), platform: { os: 'linux', architecture: 'arm64' } };
  const amd = { ...ociImage([base, await layerOf([{ name: 'arch', data: 'amd64\n' }])]), platform: { os: 'linux', architecture: 'amd64' } };
  img.armImage = arm;
  img.amdImage = amd;
  await pushIndex({ host: reg.host }, 'test/multi', 'v1', [amd, arm], index([amd, arm]));
});

afterAll(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function pulled(...repos: string[]): Promise<string> {
  const root = await mkdtemp(join(tmp, 'root-'));
  for (const r of repos) {
    const p = await runCli(['pull', '--plain-http', name(r)], { root });
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
  }
  return root;
}

describe.each(drivers)('dist unpack --snapshotter %s', (driver) => {
  test('applies every layer into a snapshot named by its chain ID; a second run applies nothing', async () => {
    const root = await pulled('app');
    const chains = chainIds(img.app!.layers.map((l) => l.diffId!));
    const r = await runCli(['unpack', '--snapshotter', driver, '--json', name('app')], { root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ name: name('app'), manifest: img.app!.manifest.digest, snapshotter: driver, chainId: chains[2] });
    expect(out.layers.map((l: { state: string; chainId: string; diffId: string }) => [l.state, l.chainId, l.diffId])).toEqual(
      chains.map((c, i) => ['applied', c, img.app!.layers[i]!.diffId]),
    );
    const again = await runCli(['unpack', '--snapshotter', driver, name('app')], { root });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(chains.map((c, i) => `present  ${c}  (layer ${img.app!.layers[i]!.digest})\n`).join('') + `${name('app')}: ${chains[2]} (${driver})\n`);

    const ls = JSON.parse((await runCli(['snapshots', '--snapshotter', driver, 'ls', '--json'], { root })).stdout);
    expect(ls.map((i: { name: string; parent: string | null; kind: string }) => [i.name, i.parent, i.kind]).sort()).toEqual(
      [[chains[0], null, 'committed'], [chains[1], chains[0], 'committed'], [chains[2], chains[1], 'committed']].sort(),
    );
    // The top snapshot holds the merged file system: whiteouts applied, zstd layer included.
    const sn = await openSnapshotter(root, driver);
    await sn.view('check', chains[2]!);
    await withMounts(await sn.mounts('check'), () => sn.mountTarget(), async (dir) => {
      expect((await readdir(join(dir, 'etc'))).sort()).toEqual(['group', 'hosts', 'passwd', 'shadow']);
      expect(await readFile(join(dir, 'etc/hosts'), 'utf8')).toBe('10.0.0.1 re-created\n');
      expect((await readdir(join(dir, 'var/cache'))).sort()).toEqual(['fresh']);
      expect(await readdir(join(dir, 'becomes-dir'))).toEqual(['inside']);
      expect(await readFile(join(dir, 'usr/lib/plugin.so'), 'utf8')).toBe('plugin\n');
    });
    await sn.remove('check');
  });

  test('images sharing a base layer share its snapshot', async () => {
    const root = await pulled('app', 'sibling');
    expect((await runCli(['unpack', '--snapshotter', driver, name('app')], { root })).code).toBe(0);
    const r = await runCli(['unpack', '--snapshotter', driver, '--json', name('sibling')], { root });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).layers.map((l: { state: string }) => l.state)).toEqual(['present', 'applied']);
    const committed = (await runCli(['snapshots', '--snapshotter', driver, 'ls', '--filter', 'kind==committed', '--json'], { root })).stdout;
    expect(JSON.parse(committed)).toHaveLength(4);
  });

  test('two processes unpacking the same image at once both succeed, with one snapshot per layer and nothing left active', async () => {
    const root = await pulled('app');
    const runs = await Promise.all([0, 1, 2].map(() => runCli(['unpack', '--snapshotter', driver, '--json', name('app')], { root })));
    const chains = chainIds(img.app!.layers.map((l) => l.diffId!));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).chainId).toBe(chains[2]);
    }
    const all = JSON.parse((await runCli(['snapshots', '--snapshotter', driver, 'ls', '--json'], { root })).stdout);
    expect(all.map((i: { name: string; kind: string }) => `${i.kind} ${i.name}`).sort()).toEqual(chains.map((c) => `committed ${c}`).sort());
    expect(await readdir(join(root, 'snapshots', driver, 'tmp'))).toEqual([]);
  });

  test('a config whose diffID does not match the layer: DataLoss (exit 9), the bad layer is not committed, nothing is left active', async () => {
    const root = await pulled('liar');
    const r = await runCli(['unpack', '--snapshotter', driver, name('liar')], { root });
    expect(r.code).toBe(9);
    expect(r.stderr).toBe(`dist: layer diffID mismatch: expected ${img.sibling!.layers[1]!.diffId}, got ${img.app!.layers[1]!.diffId}\n`);
    const all = JSON.parse((await runCli(['snapshots', '--snapshotter', driver, 'ls', '--json'], { root })).stdout);
    expect(all.map((i: { name: string; kind: string }) => `${i.kind} ${i.name}`)).toEqual([`committed ${img.app!.layers[0]!.diffId}`]);
  });
});

/** Starts `dist unpack`, waits until it is applying the big layer, then sends `signal`. */
async function interruptUnpack(root: string, driver: string, signal: NodeJS.Signals) {
  const child = spawnCli(['unpack', '--snapshotter', driver, name('big')], { root });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const sn = await openSnapshotter(root, driver);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const active: string[] = [];
    await sn.walk((i) => void active.push(i.name), 'kind==active').catch(() => {});
    if (active.some((k) => k.endsWith(chainIds(img.big!.layers.map((l) => l.diffId!))[1]!))) break;
    if (Date.now() > deadline) throw new Error(`unpack never reached the big layer: ${stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill(signal);
  return { code: await exited, stderr: () => stderr, sn };
}

describe.each(drivers)('dist unpack --snapshotter %s interrupted', (driver) => {
  test('SIGINT mid-layer: exit 130, the half-applied snapshot is removed, a rerun completes', async () => {
    const root = await pulled('big');
    const { code, stderr, sn } = await interruptUnpack(root, driver, 'SIGINT');
    expect([code, stderr()]).toEqual([130, 'dist: interrupted by SIGINT\n']);
    const left: string[] = [];
    await sn.walk((i) => void left.push(`${i.kind} ${i.name}`));
    expect(left).toEqual([`committed ${img.big!.layers[0]!.diffId}`]);
    const again = await runCli(['unpack', '--snapshotter', driver, '--json', name('big')], { root });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).layers.map((l: { state: string }) => l.state)).toEqual(['present', 'applied']);
  });

  test('SIGKILL mid-layer: the next unpack removes the dead process\'s snapshot and mount, and completes', async () => {
    const root = await pulled('big');
    const { code, sn } = await interruptUnpack(root, driver, 'SIGKILL');
    expect(code).toBe(null);
    const again = await runCli(['unpack', '--snapshotter', driver, name('big')], { root });
    expect(again.code, again.stderr).toBe(0);
    const left: string[] = [];
    await sn.walk((i) => void left.push(i.kind));
    expect(left).toEqual(['committed', 'committed']);
    expect(await readdir(join(root, 'snapshots', driver, 'tmp'))).toEqual([]);
    expect([...(await mountPoints())].filter((m) => m.startsWith(root))).toEqual([]);
  });
});

describe('dist unpack --platform', () => {
  test('picks the platform\'s manifest from an index (default: this host)', async () => {
    const root = await mkdtemp(join(tmp, 'multi-'));
    expect((await runCli(['pull', '--plain-http', '--all-platforms', name('multi')], { root })).code).toBe(0);
    const top = (i: Image) => chainIds(i.layers.map((l) => l.diffId!))[1];
    const arm = await runCli(['unpack', '--snapshotter', 'naive', '--platform', 'linux/arm64', '--json', name('multi')], { root });
    expect(arm.code, arm.stderr).toBe(0);
    expect(JSON.parse(arm.stdout)).toMatchObject({ chainId: top(img.armImage!), manifest: img.armImage!.manifest.digest });
    const host = await runCli(['unpack', '--snapshotter', 'naive', '--json', name('multi')], { root });
    const want = process.arch === 'arm64' ? img.armImage! : img.amdImage!;
    expect(JSON.parse(host.stdout)).toMatchObject({ chainId: top(want), manifest: want.manifest.digest });
    const none = await runCli(['unpack', '--platform', 'linux/s390x', name('multi')], { root });
    expect(none.code).toBe(3);
    expect(none.stderr).toBe(`dist: image "${name('multi')}" has no manifest for linux/s390x\n`);
  });
});

describe('dist unpack: errors and help', () => {
  test('unknown image, unknown snapshotter, --help', async () => {
    const root = await pulled('app');
    const missing = await runCli(['unpack', 'nope:latest'], { root });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('dist: image "nope:latest" not found (see dist images)\n');
    const bad = await runCli(['unpack', '--snapshotter', 'zfs', name('app')], { root });
    expect(bad.code).toBe(7);
    expect(bad.stderr).toBe('dist: unknown snapshotter "zfs" (expected naive or overlay)\n');
    for (const cmd of [['unpack'], ['bundle'], ['snapshots'], ['snapshots', 'ls'], ['snapshots', 'rm'], ['snapshots', 'mounts'], ['snapshots', 'usage']]) {
      const h = await runCli([...cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/^Usage: dist /);
    }
  });
});
