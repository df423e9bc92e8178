#!/usr/bin/env node
/**
 * Crash soak: SIGKILLs writers at random points — deterministic crash points (mid-write,
 * between fsync and link, after link, while replacing the status record, before naming a
 * prepared lock, inside the takeover guard) and random times — and checks after every kill:
 *
 *   - the store never holds a blob whose bytes don't match its name;
 *   - `active` shows the dead ingest as stale (library listing; the CLI every few iterations);
 *   - prune removes it (on some iterations, before the ref is reopened);
 *   - the ref reopens (taking the dead writer's lock over) and resumes or restarts, and
 *     commits the right digest;
 *   - afterwards nothing is left under ingest/ for that ref.
 *
 * And pauses longer than staleMs (SIGSTOP, as a suspend or a debugger does) between the kills:
 *
 *   - `pause-waiter`: a second writer waiting on the ref never takes a stopped holder's ref
 *     over; once the holder continues, both finish with the right digest;
 *   - `pause-forced`: the stopped holder's ref is taken by force (abort --force) and another
 *     writer commits other content under it; the holder then continues: whatever it does, no
 *     blob's bytes differ from its name and the other writer's blob stays intact.
 *
 * Uses only the compiled library and CLI (run `npm run build` first).
 *
 *   node scripts/soak.mjs [--iterations N] [--lanes N] [--seed S] [--json] [--keep]
 *
 * Exits 0 when no violation was found, 1 otherwise. Also importable: runCrashLoop(options).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { seededBytes } from './seeded-bytes.mjs';

const SELF = fileURLToPath(import.meta.url);
const REPO = join(SELF, '..', '..');
const DIST = join(REPO, 'dist', 'src');
const CLI = join(DIST, 'cli', 'main.js');
const KiB = 1024;
const MiB = 1024 * KiB;
const STALE_MS = 1500;

const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const refKey = (ref) => createHash('sha256').update(ref, 'utf8').digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** kill(2) that ignores a process already gone (a small ingest may finish before its pause). */
const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    // exited
  }
};
const exists = (p) => stat(p).then(() => true, () => false);

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

// ---------------------------------------------------------------------------------------
// child mode: one ingest with the compiled library

async function childMain(a) {
  const dc = await import('node:diagnostics_channel');
  const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
  const { closeDefaultEngine } = await import(pathToFileURL(join(DIST, 'hash', 'engine.js')).href);
  const resumes = [];
  const takeovers = [];
  dc.subscribe('containerkit:ingest:resume', (m) => resumes.push({ size: m.size, from: m.from, checkpoint: m.checkpoint }));
  dc.subscribe('containerkit:lock:takeover', (m) => takeovers.push(m.liveness));
  const buf = seededBytes(a.seed, a.size);
  const chunk = a.chunk ?? 64 * KiB;
  let source;
  if (a.source === 'stream') {
    source = (async function* () {
      for (let p = 0; p < buf.length; p += chunk) yield buf.subarray(p, p + chunk);
    })();
  } else if (a.source === 'restart') {
    source = () => (async function* () {
      for (let p = 0; p < buf.length; p += chunk) yield buf.subarray(p, p + chunk);
    })();
  } else {
    source = { size: buf.length, read: async (p, l) => buf.subarray(p, p + l) };
  }
  const store = lib.openStore(a.root, { lock: { staleMs: STALE_MS, updateMs: 1000 }, checkpointBytes: a.checkpointBytes, checkpointMs: a.checkpointMs });
  process.stdout.write('open\n');
  try {
    const r = await lib.writeBlob(store, a.ref, source, { expected: a.expected, size: buf.length, wait: a.wait, chunkSize: chunk });
    process.stdout.write(`result ${JSON.stringify({ ...r, resumes, takeovers })}\n`);
  } catch (err) {
    process.stdout.write(`error ${JSON.stringify({ kind: err.kind, code: err.code, message: err.message, resumes, takeovers })}\n`);
    process.exitCode = 3;
  } finally {
    await store.close();
    await closeDefaultEngine();
  }
}

function runChild(args, env = {}) {
  const e = { ...process.env, ...env };
  if (!env.CONTAINERKIT_CRASHPOINT) delete e.CONTAINERKIT_CRASHPOINT;
  if (!env.CONTAINERKIT_CRASHPOINT_SKIP) delete e.CONTAINERKIT_CRASHPOINT_SKIP;
  const p = spawn(process.execPath, [SELF, '--child', JSON.stringify(args)], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set();
  const wake = () => waiters.forEach((w) => w());
  p.stdout.on('data', (c) => ((out += c), wake()));
  p.stderr.on('data', (c) => ((err += c), wake()));
  const exited = new Promise((res) => p.on('close', (code, signal) => (res({ code, signal }), wake())));
  let done = false;
  exited.then(() => (done = true));
  return {
    pid: p.pid,
    get out() { return out; },
    get err() { return err; },
    exited,
    /** Resolves true when `text` shows on stdout, false if the child exits first. */
    async stdoutIncludes(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (done || Date.now() > deadline) return out.includes(text);
        await new Promise((r) => { const f = () => { waiters.delete(f); clearTimeout(t); r(); }; const t = setTimeout(f, 100); waiters.add(f); });
      }
      return true;
    },
    /** Resolves true when `text` shows on stderr, false if the child exits first or time runs out. */
    async stderrIncludes(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!err.includes(text)) {
        if (done || Date.now() > deadline) return err.includes(text);
        await new Promise((r) => { const f = () => { waiters.delete(f); clearTimeout(t); r(); }; const t = setTimeout(f, 100); waiters.add(f); });
      }
      return true;
    },
    kill() { if (!done) p.kill('SIGKILL'); return exited; },
    async result() {
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('result ') || l.startsWith('error '));
      if (!line) return { tag: 'none', out, err };
      const sp = line.indexOf(' ');
      return { tag: line.slice(0, sp), ...JSON.parse(line.slice(sp + 1)) };
    },
  };
}

function runCli(root, argv) {
  return new Promise((res) => {
    const env = { ...process.env, DIST_JOBS: '1' };
    delete env.DIST_ROOT;
    const p = spawn(process.execPath, [CLI, '--root', root, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    p.on('close', (code) => res({ code, out, err }));
  });
}

// ---------------------------------------------------------------------------------------
// the loop

/** Crash kinds and their weights (random-time kills are the biggest share). */
const KINDS = [
  ['random', 30],
  ['write:after-data', 14],
  ['status:torn', 12],
  ['commit:after-fsync', 9],
  ['commit:after-link', 9],
  ['commit:before-cleanup', 9],
  ['lock:before-rename', 3],
  ['takeover:in-guard', 1],
  ['pause-forced', 6],
  ['pause-waiter', 4],
];

async function badBlobs(root, verified) {
  const dir = join(root, 'blobs', 'sha256');
  const bad = [];
  for (const n of await readdir(dir).catch(() => [])) {
    const p = join(dir, n);
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    if (verified.get(n) === stamp) continue;
    const d = sha256(await readFile(p));
    if (d !== `sha256:${n}`) bad.push(`blob sha256:${n} holds ${d}`);
    else verified.set(n, stamp);
  }
  return bad;
}

export async function runCrashLoop(options = {}) {
  const iterations = options.iterations ?? 2000;
  const lanes = options.lanes ?? 3;
  const seed = options.seed ?? (Date.now() % 1e9);
  const log = options.log ?? (() => {});
  const cliEvery = options.cliEvery ?? 10;
  for (const f of [CLI, join(DIST, 'index.js')]) if (!existsSync(f)) throw new Error(`${f} missing: run npm run build`);
  const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
  const base = options.dir ?? (await mkdtemp(join(tmpdir(), 'ck-soak-')));
  const t0 = Date.now();
  const summary = {
    seed, iterations: 0, byKind: {}, crashpointsHit: 0, crashpointsMissed: 0, staleSeen: 0, cliStaleSeen: 0,
    prunedStale: 0, takeovers: 0, resumedFromCheckpoint: 0, resumedFromZero: 0, restartedEmpty: 0,
    alreadyExisted: 0, violations: [], slowest: [], ms: 0, dir: base,
  };
  const forcedKinds = options.forceKinds ?? [];
  let next = 0;

  async function iteration(i, root, store, verified, rand) {
    const kind = forcedKinds[i] ?? (() => {
      let r = rand() * KINDS.reduce((n, k) => n + k[1], 0);
      for (const [k, w] of KINDS) if ((r -= w) < 0) return k;
      return 'random';
    })();
    summary.byKind[kind] = (summary.byKind[kind] ?? 0) + 1;
    const tag = `#${i} ${kind}`;
    const began = Date.now();
    const phase = {};
    const mark = (name) => (phase[name] = Date.now() - began);
    const violation = (m) => summary.violations.push(`${tag} (seed ${seed}): ${m}`);
    const ref = `crash-${i}`;
    const key = refKey(ref);
    const paths = { dir: join(root, 'ingest', key), lock: join(root, 'ingest', `${key}.lock`), owner: join(root, 'ingest', `${key}.lock`, 'owner'), guard: join(root, 'ingest', `${key}.takeover`) };
    const r = rand();
    const size = r < 0.1 ? Math.floor(rand() * 4 * KiB) : r < 0.7 ? Math.floor(64 * KiB + rand() * MiB) : Math.floor(MiB + rand() * 2 * MiB);
    const contentSeed = seed * 7 + i;
    const content = seededBytes(contentSeed, Math.max(size, kind === 'takeover:in-guard' ? 512 * KiB : 0));
    const digest = sha256(content);
    const useExpected = rand() < 0.75;
    const args = { root, ref, seed: contentSeed, size: content.length, expected: useExpected ? digest : undefined, chunk: 64 * KiB, checkpointBytes: 256 * KiB, checkpointMs: 20, source: 'stream' };
    const chunks = Math.max(1, Math.ceil(content.length / (64 * KiB)));

    if (kind.startsWith('pause-')) {
      await pauseIteration(kind, { root, store, ref, args, content, digest, verified, rand, violation });
      summary.iterations++;
      mark('end');
      return;
    }

    // 1. the crash
    if (kind === 'takeover:in-guard') {
      // First a writer dies mid-write (a dead owner's lock), then a taker dies inside the guard.
      const a = runChild(args, { CONTAINERKIT_CRASHPOINT: 'write:after-data', CONTAINERKIT_CRASHPOINT_SKIP: '2' });
      if (!(await a.stderrIncludes('CRASHPOINT', 20_000))) violation(`setup writer never reached its crash point: ${a.err}`);
      await a.kill();
    }
    const env = {};
    if (kind !== 'random') {
      env.CONTAINERKIT_CRASHPOINT = kind;
      const skip = kind === 'write:after-data' ? Math.floor(rand() * chunks) : kind === 'status:torn' ? Math.floor(rand() * 4) : 0;
      if (skip) env.CONTAINERKIT_CRASHPOINT_SKIP = String(skip);
    }
    const c = runChild(args, env);
    if (kind === 'random') {
      // From the moment the library is loaded, somewhere within the ingest's expected duration.
      await c.stdoutIncludes('open', 20_000);
      await Promise.race([sleep(rand() * (15 + content.length / (12 * KiB))), c.exited]);
    } else if (await c.stderrIncludes(`CRASHPOINT ${kind}`, 20_000)) {
      summary.crashpointsHit++;
    } else {
      summary.crashpointsMissed++; // e.g. a small blob never wrote a later checkpoint
    }
    await c.kill();

    mark('crash');
    // 2. invariants right after the crash
    for (const b of await badBlobs(root, verified)) violation(b);
    const listed = (await store.listStatuses()).find((s) => s.ref === ref);
    const ownerKnown = await exists(paths.owner);
    if (listed) {
      if (ownerKnown && listed.state !== 'stale') violation(`listed as ${listed.state}, expected stale (dead owner)`);
      if (listed.state === 'stale') summary.staleSeen++;
    }
    if (listed && i % cliEvery === 0) {
      const a = await runCli(root, ['active', '--json']);
      const row = a.code === 0 ? JSON.parse(a.out).find((s) => s.ref === ref) : undefined;
      if (!row) violation(`dist active (exit ${a.code}) does not list the dead ingest: ${a.err}`);
      else if (ownerKnown && row.state !== 'stale') violation(`dist active shows ${row.state}, expected stale`);
      else if (row.state === 'stale') summary.cliStaleSeen++;
    }

    // 3. sometimes prune first: the stale ingest must go
    // (Not while a crashed taker's guard is fresh: nobody, prune included, may take the lock
    // over until the guard ages out — 5 s — which the reopen below waits for.)
    const guardLeft = await exists(paths.guard);
    if (listed?.state === 'stale' && !guardLeft && rand() < 0.35) {
      const pr = await store.prune();
      if (!pr.removed.some((p) => p.ref === ref)) violation(`prune did not remove the stale ingest: ${JSON.stringify(pr.removed)}`);
      else summary.prunedStale++;
      if (await exists(paths.dir)) violation('ingest dir still there after prune');
      if (await exists(paths.lock)) violation('lock still there after prune');
    }

    mark('checks');
    // 4. reopen: resume or restart, and commit the right digest
    const blobBefore = await exists(join(root, 'blobs', 'sha256', digest.slice(7)));
    const lockBefore = (await exists(paths.lock)) && (await exists(paths.owner));
    const sources = ['ranged', 'stream', 'restart'];
    const res = await runChild({ ...args, source: sources[Math.floor(rand() * 3)], wait: 30_000, checkpointMs: 2000 }).result();
    if (res.tag !== 'result') {
      violation(`reopen failed: ${JSON.stringify(res)}`);
    } else {
      if (res.digest !== digest) violation(`reopen committed ${res.digest}, expected ${digest}`);
      if (res.existed) summary.alreadyExisted++;
      else if (blobBefore) violation('blob existed before, but the reopen did not report existed');
      if (!res.existed && lockBefore && res.takeovers.length === 0) violation('a dead owner lock was not taken over');
      summary.takeovers += res.takeovers.length;
      const rs = res.resumes[0];
      if (rs) {
        if (rs.size === 0) summary.restartedEmpty++;
        else if (rs.from > 0) summary.resumedFromCheckpoint++;
        else summary.resumedFromZero++;
        if (rs.from > rs.size) violation(`resumed from ${rs.from} > size ${rs.size}`);
      }
    }
    if (!(await exists(join(root, 'blobs', 'sha256', digest.slice(7))))) violation('blob missing after reopen');
    for (const b of await badBlobs(root, verified)) violation(b);

    mark('reopen');
    // 5. prune leaves nothing of this ref behind
    await store.prune();
    for (const [what, p] of Object.entries(paths)) if (await exists(p)) violation(`${what} left after reopen + prune`);
    summary.iterations++;
    mark('end');
    summary.slowest.push({ i, kind, ...phase });
    summary.slowest.sort((a, b) => b.end - a.end);
    summary.slowest.length = Math.min(summary.slowest.length, 5);
    if (summary.iterations % 100 === 0) log(`${summary.iterations}/${iterations} iterations, ${summary.violations.length} violation(s), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }

  /** A holder stopped (SIGSTOP) for longer than staleMs, then continued. */
  async function pauseIteration(kind, { root, store, ref, args, content, digest, verified, rand, violation }) {
    const h = runChild({ ...args, wait: 30_000 });
    await h.stdoutIncludes('open', 20_000);
    // Somewhere in the ingest: before the lock, mid-stream, or at its end.
    await Promise.race([sleep(rand() * (10 + content.length / (24 * KiB))), h.exited]);
    signal(h.pid, 'SIGSTOP');
    await sleep(STALE_MS + 200 + rand() * 800);
    const paths = { lock: join(root, 'ingest', `${refKey(ref)}.lock`) };
    if (kind === 'pause-waiter') {
      const held = await exists(paths.lock);
      const t = runChild({ ...args, source: 'ranged', wait: 60_000 });
      await sleep(STALE_MS);
      const tr = await Promise.race([t.result(), sleep(10).then(() => undefined)]);
      if (held && tr && tr.tag === 'result' && !tr.existed) violation(`a waiter took the ref of a stopped holder: ${JSON.stringify(tr)}`);
      signal(h.pid, 'SIGCONT');
      const [hr, tr2] = [await h.result(), await t.result()];
      if (hr.tag !== 'result' || hr.digest !== digest) violation(`stopped holder did not finish right: ${JSON.stringify(hr)}`);
      if (tr2.tag !== 'result' || tr2.digest !== digest) violation(`waiter did not finish right: ${JSON.stringify(tr2)}`);
    } else {
      // The operator forces the ref away from the stopped holder; another writer commits other content.
      await store.abort(ref, { force: true }).catch((err) => {
        if (err.kind !== 'NotFound') violation(`abort --force failed: ${err.message}`);
      });
      const otherSeed = args.seed + 1_000_000_007;
      const other = seededBytes(otherSeed, Math.max(1, Math.floor(rand() * 2 * MiB)));
      const t = await runChild({ ...args, seed: otherSeed, size: other.length, expected: undefined, source: 'ranged', wait: 30_000 }).result();
      if (t.tag !== 'result' || t.digest !== sha256(other)) violation(`the new writer did not commit its content: ${JSON.stringify(t)}`);
      signal(h.pid, 'SIGCONT');
      const hr = await h.result();
      // The stopped holder may fail (it lost the ref) or, if it had not taken the ref yet, finish:
      // either way with its own content's digest, never the other writer's bytes.
      if (hr.tag === 'result' && hr.digest !== digest) violation(`stopped holder committed ${hr.digest}, its content is ${digest}`);
      if (hr.tag === 'error' && !['LockCompromised', 'Unavailable', 'FailedPrecondition', 'AlreadyExists'].includes(hr.kind)) {
        violation(`stopped holder failed oddly: ${JSON.stringify(hr)}`);
      }
      if (!(await exists(join(root, 'blobs', 'sha256', sha256(other).slice(7))))) violation('the new writer’s blob is gone');
    }
    for (const b of await badBlobs(root, verified)) violation(b);
    // Whatever the holder left (a partial of a lost ingest) is resumable or prunable.
    const res = await runChild({ ...args, source: 'ranged', wait: 30_000 }).result();
    if (res.tag !== 'result' || res.digest !== digest) violation(`reopen after the pause failed: ${JSON.stringify(res)}`);
    await store.prune();
    if ((await readdir(join(root, 'ingest')).catch(() => [])).some((n) => n.startsWith(refKey(ref)))) {
      violation('ingest left after the pause, a reopen and prune');
    }
  }

  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const root = join(base, `lane${lane}`);
      await mkdir(root, { recursive: true });
      const store = lib.openStore(root, { lock: { staleMs: STALE_MS, updateMs: 1000 } });
      const verified = new Map();
      const rand = rng(seed + lane * 1_000_003);
      while (next < iterations) {
        const i = next++;
        try {
          await iteration(i, root, store, verified, rand);
        } catch (err) {
          summary.violations.push(`#${i}: harness error ${err?.stack ?? err}`);
        }
      }
      // Whole-store checks at the end of the lane. Crash debris (a lock prepared but never
      // named, temp files) is removed by prune once it is 2 × staleMs old.
      await sleep(2 * STALE_MS + 200);
      await store.prune();
      for (const b of await badBlobs(root, new Map())) summary.violations.push(`lane ${lane}: ${b}`);
      const left = await readdir(join(root, 'ingest')).catch(() => []);
      if (left.length) summary.violations.push(`lane ${lane}: left under ingest/: ${left.join(', ')}`);
    }),
  );
  summary.ms = Date.now() - t0;
  if (!options.keep && summary.violations.length === 0 && !options.dir) await rm(base, { recursive: true, force: true });
  return summary;
}

// ---------------------------------------------------------------------------------------
// main

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await childMain(JSON.parse(argv[1]));
} else if (process.argv[1] === SELF) {
  const opt = (name, dflt) => {
    const i = argv.findIndex((a) => a === name || a.startsWith(name + '='));
    if (i < 0) return dflt;
    return argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
  };
  const iterations = Number(opt('--iterations', 2000));
  const lanes = Number(opt('--lanes', 3));
  const seed = opt('--seed') !== undefined ? Number(opt('--seed')) : undefined;
  const json = argv.includes('--json');
  const keep = argv.includes('--keep');
  const s = await runCrashLoop({ iterations, lanes, seed, keep, log: (m) => process.stderr.write(`soak: ${m}\n`) });
  if (json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  } else {
    const kinds = Object.entries(s.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}=${n}`).join(' ');
    process.stdout.write(
      [
        `soak: ${s.iterations} iterations in ${(s.ms / 1000).toFixed(1)} s (seed ${s.seed}, ${lanes} lanes)`,
        `  kills and pauses: ${kinds}`,
        `  crash points hit ${s.crashpointsHit}, missed ${s.crashpointsMissed}`,
        `  after the kill: listed stale ${s.staleSeen} (CLI ${s.cliStaleSeen}), pruned ${s.prunedStale}`,
        `  reopen: takeovers ${s.takeovers}, resumed from checkpoint ${s.resumedFromCheckpoint}, re-hashed from 0 ${s.resumedFromZero}, ` +
          `fresh ${s.restartedEmpty}, already existed ${s.alreadyExisted}`,
        `  slowest: ${s.slowest.map((x) => `#${x.i} ${x.kind} ${x.end} ms (crash ${x.crash}, reopen ${x.reopen - x.checks})`).join('; ')}`,
        `  violations: ${s.violations.length}`,
        ...s.violations.slice(0, 50).map((v) => `    ${v}`),
        s.violations.length ? `  store kept at ${s.dir}` : '',
      ].filter(Boolean).join('\n') + '\n',
    );
  }
  process.exitCode = s.violations.length ? 1 : 0;
}
