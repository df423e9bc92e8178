#!/usr/bin/env node
// The main job on the embedded default store (./.content, or $DIST_ROOT): independent
// `dist ingest` processes write sample blobs into one store at the same time, with no
// daemon. Half-way through, `dist active` (yet another process) shows them; one ingest is
// SIGKILLed, shows as stale, and a rerun resumes it. Ends with `dist list`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'src', 'cli', 'main.js');
const root = process.env.DIST_ROOT || './.content';
const env = { ...process.env, DIST_ROOT: root };

/** Deterministic sample content: blob i is `size` bytes derived from its index. */
function sample(i, size) {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(`containerkit demo ${i}`).digest();
  for (let o = 0; o < size; o += block.length) {
    block.copy(out, o);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
const digestOf = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function dist(args, opts = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', ...opts });
  if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  return r;
}

/** Starts `dist ingest` fed at ~`rate` bytes/s, so the ingests overlap visibly. */
function ingest(ref, data, expected, rate) {
  const child = spawn(process.execPath, [cli, 'ingest', '--expected-digest', expected, '--expected-size', String(data.length), ref], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const chunk = 256 * 1024;
  let pos = 0;
  const timer = setInterval(() => {
    if (pos >= data.length) {
      clearInterval(timer);
      child.stdin.end();
      return;
    }
    child.stdin.write(data.subarray(pos, pos + chunk));
    pos += chunk;
  }, (1000 * chunk) / rate);
  child.stdin.on('error', () => clearInterval(timer));
  const done = new Promise((res) => child.on('exit', (code, sig) => res({ ref, code, sig, out: out.trim() })));
  return { child, done, stop: () => clearInterval(timer) };
}

const sizes = [8, 12, 16, 6, 10, 4].map((m) => m * 1024 * 1024);
const blobs = sizes.map((s, i) => sample(i, s));
console.log(`$ # ${blobs.length} ingests in parallel processes into ${root}`);
const runs = blobs.map((b, i) => ingest(`demo/blob-${i}`, b, digestOf(b), 24 * 1024 * 1024));

/** Polls `dist active --json` (from yet another process) until `ok(list)` or ~10 s pass. */
async function activeUntil(ok) {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(process.execPath, [cli, 'active', '--json'], { env, encoding: 'utf8' });
    if (r.status === 0 && ok(JSON.parse(r.stdout))) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}

// Wait until every ingest is visible and the first has data on disk, however slowly
// the processes start on a busy machine.
await activeUntil((list) => list.length === runs.length && list.some((s) => s.ref === 'demo/blob-0' && s.offset > 0));
console.log('\n$ dist active');
dist(['active']);

// Crash one ingest mid-way: its partial data stays, and its ingest shows as stale.
const victim = runs[0];
victim.stop();
victim.child.kill('SIGKILL');
const results = await Promise.all(runs.map((r) => r.done));
console.log('\n$ # SIGKILLed demo/blob-0 mid-ingest; dist active');
dist(['active']);

console.log('\n$ # rerun: the ingest resumes at its offset (stdin bytes already stored are skipped)');
const rerun = await ingest('demo/blob-0', blobs[0], digestOf(blobs[0]), 1 << 30).done;
results[0] = rerun;

console.log('\n$ dist list');
dist(['list']);
console.log('\n$ dist active   # nothing left in flight');
dist(['active']);

const failed = results.filter((r) => r.code !== 0);
for (const r of results) console.log(`${r.ref}: ${r.code === 0 ? r.out || 'already present' : `exit ${r.code ?? r.sig}`}`);
process.exit(failed.length ? 1 : 0);
