/**
 * Against real peers: for the registry test images — including one whose layers delete and
 * re-create files — `dist bundle` and `umoci unpack` (Debian) of the same pulled image yield
 * the same tree (names, types, modes, sizes, link targets, contents), with either snapshotter.
 * And runc runs the bundle `dist bundle` writes (config.json from the image config).
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isMountPoint, probeOverlay } from '../../src/snapshots/mount.js';
import { runCli } from '../helpers/cli.js';
import { image, layer, type Image } from '../registry/helpers/image.js';
import { pushImage } from '../registry/helpers/push.js';
import { startRegistry, type Registry } from '../registry/helpers/registry.js';
import { describeTree } from './helpers/compare.js';
import { baseEntries, churnEntries, hostShellEntries, layerOf, ociImage, topEntries } from './helpers/images.js';

const exec = promisify(execFile);
const drivers = (await probeOverlay()) === undefined ? ['naive', 'overlay'] : ['naive'];
if (drivers.length === 1) process.stderr.write(`peer tests: overlay NOT exercised: ${await probeOverlay()}\n`);

let reg: Registry;
let tmp: string;
const img: Record<string, Image> = {};
const name = (repo: string) => `${reg.host}/test/${repo}:v1`;

beforeAll(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'ck-peer-'));
  // The pull tests' images (random data files, Docker schema2 too) and the churn image.
  const shared = await layer([{ name: 'shared/base.bin', size: 3 << 20, seed: 'shared' }]);
  img.oci = image([shared, await layer([{ name: 'oci-1.bin', size: 1 << 20, seed: 'oci-1' }]), await layer([{ name: 'oci-2.bin', size: 1 << 20, seed: 'oci-2' }])], { label: 'oci' });
  img.docker = image([shared, await layer([{ name: 'docker-1.bin', size: 2 << 20, seed: 'docker-1' }], 'docker')], { format: 'docker', label: 'docker' });
  img.churn = ociImage([await layerOf(baseEntries(), 'gzip'), await layerOf(churnEntries(), 'gzip'), await layerOf(topEntries(), 'none')]);
  img.shell = ociImage([await layerOf(hostShellEntries(), 'gzip')], {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo "$GREETING from $(pwd) as $(id -u 2>/dev/null || echo uid):$$"; echo ok > /work/out'],
    Env: ['GREETING=hello'],
    WorkingDir: '/work',
    User: 'root',
  });
  for (const [repo, i] of Object.entries(img)) await pushImage({ host: reg.host }, `test/${repo}`, 'v1', i);
});

afterAll(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function teardown(root: string, bundle: string, driver: string): Promise<void> {
  if (driver === 'overlay') {
    const r = await runCli(['snapshots', '--snapshotter', 'overlay', 'rm', `bundle ${bundle}`], { root });
    expect(r.stderr).toBe('');
    expect(await isMountPoint(join(bundle, 'rootfs'))).toBe(false);
  }
}

describe.each(drivers)('dist bundle (%s) vs umoci unpack', (driver) => {
  test.each(['oci', 'docker', 'churn'])('image %s: the same tree', async (repo) => {
    const root = await mkdtemp(join(tmp, `${repo}-`));
    const pull = await runCli(['pull', '--plain-http', name(repo)], { root });
    expect(pull.code, pull.stderr).toBe(0);
    const ours = join(root, '..', `${repo}-${driver}-bundle-${Date.now()}`);
    const theirs = join(root, '..', `${repo}-${driver}-umoci-${Date.now()}`);
    const b = await runCli(['bundle', '--snapshotter', driver, name(repo), ours], { root });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    try {
      await exec('umoci', ['unpack', '--image', `${root}:${name(repo)}`, theirs]);
      const [a, u] = [await describeTree(join(ours, 'rootfs')), await describeTree(join(theirs, 'rootfs'))];
      expect(Object.keys(a).length).toBeGreaterThan(2);
      expect(a).toEqual(u);
      expect(await isMountPoint(join(ours, 'rootfs'))).toBe(driver === 'overlay');
    } finally {
      await teardown(root, ours, driver);
    }
  });
});

describe('the bundle runs', () => {
  test.each(drivers)('runc run of `dist bundle --snapshotter %s` of an image with Entrypoint, Cmd, Env, WorkingDir, User', async (driver) => {
    const root = await mkdtemp(join(tmp, 'shell-'));
    expect((await runCli(['pull', '--plain-http', name('shell')], { root })).code).toBe(0);
    const bundle = join(tmp, `shell-bundle-${driver}`);
    const b = await runCli(['bundle', '--snapshotter', driver, '--json', name('shell'), bundle], { root });
    expect(b.stderr).toBe('');
    expect(JSON.parse(b.stdout)).toMatchObject({ driver, config: join(bundle, 'config.json'), rootfs: join(bundle, 'rootfs') });
    try {
      const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
      expect(spec).toMatchObject({
        ociVersion: '1.0.2',
        root: { path: 'rootfs' },
        process: {
          args: ['/bin/sh', '-c', expect.stringContaining('GREETING')],
          env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello'],
          cwd: '/work',
          user: { uid: 0, gid: 0 },
        },
      });
      const state = join(tmp, `runc-state-${driver}`);
      const { stdout } = await exec('runc', ['--root', state, 'run', '--bundle', bundle, `ck-${driver}-${process.pid}`], { timeout: 30_000 });
      expect(stdout).toMatch(/^hello from \/work as /);
      // The container wrote into its rootfs: the bundle's own copy (naive) or its overlay snapshot.
      expect(await readFile(join(bundle, 'rootfs', 'work', 'out'), 'utf8')).toBe('ok\n');
      expect((await stat(join(bundle, 'rootfs', 'bin', 'sh'))).isFile()).toBe(true);
      // A second bundle into the same directory is refused; the first is untouched.
      const again = await runCli(['bundle', '--snapshotter', driver, name('shell'), bundle], { root });
      expect(again.code).toBe(4);
      expect(again.stderr).toBe(`dist: ${join(bundle, 'rootfs')} exists and is not empty: remove the old bundle first\n`);
      expect(await readFile(join(bundle, 'rootfs', 'work', 'out'), 'utf8')).toBe('ok\n');
    } finally {
      await teardown(root, bundle, driver);
    }
  });

  test('User names resolve through the image\'s /etc/passwd and /etc/group', async () => {
    const { resolveUser } = await import('../../src/oci/runtime-spec.js');
    const root = await mkdtemp(join(tmp, 'user-'));
    const { apply } = await import('../archive/helpers/layer.js');
    const { tarOf } = await import('../archive/helpers/layer.js');
    await apply(root, await tarOf(baseEntries()));
    expect(await resolveUser('app', root)).toEqual({ uid: 1234, gid: 2345, additionalGids: [10] });
    expect(await resolveUser('app:wheel', root)).toEqual({ uid: 1234, gid: 10 });
    expect(await resolveUser('1234', root)).toEqual({ uid: 1234, gid: 2345, additionalGids: [10] });
    expect(await resolveUser('99:98', root)).toEqual({ uid: 99, gid: 98 });
    await expect(resolveUser('nobody', root)).rejects.toMatchObject({ kind: 'FailedPrecondition', code: 'ERR_UNKNOWN_USER' });
  });
});
