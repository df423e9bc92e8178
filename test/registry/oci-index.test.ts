/**
 * index.json under contention: many processes recording names at once lose none (lock,
 * re-read, atomic replace), and re-recording a name replaces its entry. An updater paused
 * past its lock's stale time (SIGSTOP/SIGCONT at a crash point just before its rename), or
 * one whose index.json was replaced meanwhile by a tool that does not lock, changes nothing
 * from its stale view: it re-reads and applies its change on top of the newer file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { ownerRecord } from '../multiprocess/helpers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { repoRoot } from './helpers/registry.js';
import { listImages, recordImage } from '../../src/oci/images.js';
import { readIndexJson } from './helpers/store-check.js';
import { readFileSync } from 'node:fs';

const D = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

test('8 processes × 10 names recorded concurrently: all 80 present, file valid', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-'));
  try {
    const lib = join(repoRoot(), 'dist', 'src', 'oci', 'images.js');
    const script = `
      const { recordImage } = await import(${JSON.stringify(lib)});
      const p = Number(process.argv[1]);
      await Promise.all(Array.from({ length: 10 }, (_, i) => recordImage(process.argv[2], {
        name: 'reg.example/p' + p + '/img:' + i, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: 'sha256:' + (p * 100 + i).toString(16).padStart(64, '0'), size: 100 + i })));`;
    const runs = Array.from({ length: 8 }, (_, p) =>
      new Promise<number | null>((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script, String(p), root], { stdio: ['ignore', 'ignore', 'inherit'] });
        c.once('exit', resolve);
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array(8).fill(0));
    const names = (await listImages(root)).images.map((r) => r.name);
    expect(names).toHaveLength(80);
    expect(new Set(names).size).toBe(80);
    expect(JSON.parse(readFileSync(join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });

    await recordImage(root, { name: 'reg.example/p0/img:0', mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(999), size: 1 });
    const again = readIndexJson(root).manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'reg.example/p0/img:0');
    expect(again).toEqual([expect.objectContaining({ digest: D(999) })]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a corrupt index.json is reported, never silently overwritten', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-bad-'));
  try {
    await writeFile(join(root, 'index.json'), '{"schemaVersion": 2, "manif');
    await expect(recordImage(root, { name: 'x/y:z', mediaType: 'm', digest: D(1), size: 1 })).rejects.toMatchObject({ kind: 'DataLoss' });
    expect(readFileSync(join(root, 'index.json'), 'utf8')).toBe('{"schemaVersion": 2, "manif');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Stale time the lock tests give the index lock (proper-lockfile's minimum). */
const STALE_MS = 2_000;

/** Resolves once the process is really stopped (state T): it prints CRASHPOINT just before its SIGSTOP. */
async function untilStopped(pid: number): Promise<void> {
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A child process recording one name through the compiled library. At the crash point it
 * stops itself (SIGSTOP); `resume()` continues it, and every later stop (its retry passes
 * the same point) is continued at once.
 */
function recorder(root: string, name: string, digest: string, crash: boolean) {
  const lib = join(repoRoot(), 'dist', 'src', 'oci', 'images.js');
  const script = `
    const { recordImage } = await import(${JSON.stringify(lib)});
    await recordImage(process.argv[1], { name: process.argv[2], mediaType: '${MANIFEST}', digest: process.argv[3], size: 1 }, { staleMs: ${STALE_MS} });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, root, name, digest], {
    env: { ...process.env, ...(crash ? { CONTAINERKIT_CRASHPOINT: 'index:before-rename' } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let stops = 0;
  let resumed = false;
  let onStop: (() => void) | undefined;
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d;
    const n = stderr.split('CRASHPOINT index:before-rename').length - 1;
    if (n > stops) {
      stops = n;
      void untilStopped(child.pid!).then(() => (resumed ? child.kill('SIGCONT') : onStop?.()));
    }
  });
  const exited = new Promise<{ code: number | null; stderr: string; stops: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr, stops })),
  );
  return {
    exited,
    stopped: () => new Promise<void>((resolve, reject) => {
      onStop = resolve;
      if (stops > 0) void untilStopped(child.pid!).then(resolve);
      void exited.then((r) => reject(new Error(`exited (${r.code}) before the crash point: ${r.stderr}`)));
    }),
    resume: () => {
      resumed = true;
      child.kill('SIGCONT');
    },
  };
}

function namesIn(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readIndexJson(root).manifests) out[m.annotations!['io.containerd.image.name']!] = m.digest;
  return out;
}

test('an updater stopped while holding the lock keeps it: another updater waits, then both names are recorded', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-stopped-'));
  try {
    await recordImage(root, { name: 'base:v1', mediaType: MANIFEST, digest: D(1), size: 1 });
    // A reads index.json (base only), writes its view and stops just before the rename.
    const a = recorder(root, 'paused:v1', D(2), true);
    await a.stopped();
    // B must not take the lock of a live (stopped) holder, however old its heartbeat.
    const bp = recorder(root, 'fresh:v1', D(3), false);
    const early = await Promise.race([bp.exited, new Promise((r) => setTimeout(() => r('waiting'), 2.5 * STALE_MS))]);
    expect(early).toBe('waiting');
    expect(namesIn(root)).toEqual({ 'base:v1': D(1) });
    a.resume();
    expect((await a.exited).code).toBe(0);
    expect((await bp.exited).code).toBe(0);
    expect(namesIn(root)).toEqual({ 'base:v1': D(1), 'paused:v1': D(2), 'fresh:v1': D(3) });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('regression: an updater on another host, paused past the stale time, does not rename its stale view over a newer index.json', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-stale-'));
  try {
    await recordImage(root, { name: 'base:v1', mediaType: MANIFEST, digest: D(1), size: 1 });
    const a = recorder(root, 'paused:v1', D(2), true);
    await a.stopped();
    // Make A's lock look held from another host: its liveness cannot be judged from here.
    const lock = join(root, 'index.json.lock');
    await writeFile(`${lock}/owner`, await ownerRecord({ pid: 1, host: 'elsewhere' }, await stat(lock)));
    // B takes the lock over once its heartbeat is stale, and records its name.
    const started = Date.now();
    const b = await recorder(root, 'fresh:v1', D(3), false).exited;
    expect(b, b.stderr).toMatchObject({ code: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALE_MS - 500);
    expect(namesIn(root)).toEqual({ 'base:v1': D(1), 'fresh:v1': D(3) });
    // A continues: it must see that the lock is no longer its own, re-read and re-apply.
    a.resume();
    const ra = await a.exited;
    expect(ra.code, ra.stderr).toBe(0);
    expect(namesIn(root)).toEqual({ 'base:v1': D(1), 'paused:v1': D(2), 'fresh:v1': D(3) });
    expect(ra.stops).toBeGreaterThanOrEqual(2); // it passed the crash point again, on its retry
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('an index.json replaced by a tool that does not lock, while an updater holds the lock, is not lost', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-foreign-'));
  try {
    await recordImage(root, { name: 'base:v1', mediaType: MANIFEST, digest: D(1), size: 1 });
    const a = recorder(root, 'mine:v1', D(2), true);
    await a.stopped();
    // What `skopeo copy … oci:ROOT:NAME` does: write a new index.json and rename it in place.
    const index = readIndexJson(root);
    index.manifests.push({ mediaType: MANIFEST, digest: D(4), size: 1, annotations: { 'io.containerd.image.name': 'foreign:v1' } });
    await writeFile(join(root, 'index.json.foreign'), JSON.stringify(index));
    await rename(join(root, 'index.json.foreign'), join(root, 'index.json'));
    a.resume(); // well within the stale time: the lock is still A's
    const ra = await a.exited;
    expect(ra.code, ra.stderr).toBe(0);
    expect(namesIn(root)).toEqual({ 'base:v1': D(1), 'foreign:v1': D(4), 'mine:v1': D(2) });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
