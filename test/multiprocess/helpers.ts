/**
 * Helpers for the multi-process tests: real child processes running the compiled library
 * (dist/) or the compiled CLI, deterministic content, store invariants, and declarative
 * fixtures that lay out what a crash leaves behind.
 */
import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pack } from 'msgpackr';
import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from '../helpers/bytes.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'dist/src/cli/main.js');
export const CHILDREN = join(REPO, 'test/multiprocess/children');
const DIST = join(REPO, 'dist/src');

export function requireBuild(): void {
  for (const f of [CLI, join(DIST, 'index.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first (npm test does)`);
  }
}

/** The compiled library, loaded in the test process too (same code the children run). */
export async function dist() {
  requireBuild();
  const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
  const status = await import(pathToFileURL(join(DIST, 'local/status-file.js')).href);
  const paths = await import(pathToFileURL(join(DIST, 'local/paths.js')).href);
  const lock = await import(pathToFileURL(join(DIST, 'local/lock.js')).href);
  const owner = await import(pathToFileURL(join(DIST, 'local/owner.js')).href);
  const wasm = await import(pathToFileURL(join(DIST, 'hash/wasm.js')).href);
  return { lib, status, paths, lock, owner, wasm };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ck-${prefix}-`));
}

// ---------------------------------------------------------------------------------------
// content

/** xorshift32 content (test/helpers/bytes.ts), identical to children/common.mjs seededBytes. */
export function seededBytes(seed: number, size: number): Buffer {
  return randomBytes(size, seed);
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Digest of the `repeat` content of children/ingest.mjs (chunk i stamped with i). */
export function repeatDigest(seed: number, chunk: number, count: number): string {
  const base = seededBytes(seed, chunk);
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) {
    base.writeUInt32LE(i, 0);
    h.update(base);
  }
  return `sha256:${h.digest('hex')}`;
}

// ---------------------------------------------------------------------------------------
// child processes

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child process speaking a line protocol on stdout (`tag {json}`), commands on stdin. */
export class Proc {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<ChildResult>;
  private out = '';
  private err = '';
  private lines: string[] = [];
  private waiters = new Set<() => void>();

  constructor(cmd: string, argv: string[], opts: SpawnOptions & { env?: NodeJS.ProcessEnv } = {}) {
    this.proc = spawn(cmd, argv, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
    this.proc.stdin.on('error', () => {});
    let partial = '';
    this.proc.stdout.on('data', (c: Buffer) => {
      const s = c.toString();
      this.out += s;
      partial += s;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.proc.stderr.on('data', (c: Buffer) => {
      this.err += c.toString();
      this.wake();
    });
    this.exited = new Promise((res) =>
      this.proc.on('close', (code, signal) => {
        if (partial) this.lines.push(partial);
        res({ code, signal, stdout: this.out, stderr: this.err });
        this.wake();
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }
  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private async until<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (!this.alive) {
        await new Promise((r) => setTimeout(r, 20)); // let the last output arrive
        const v2 = probe();
        if (v2 !== undefined) return v2;
        throw new Error(`child ${this.pid} exited (${this.proc.exitCode ?? this.proc.signalCode}) before ${what}\nstdout: ${this.out}\nstderr: ${this.err}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} from child ${this.pid}\nstdout: ${this.out}\nstderr: ${this.err}`);
      await new Promise<void>((res) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          res();
        };
        const t = setTimeout(done, Math.min(left, 200));
        this.waiters.add(done);
      });
    }
  }

  /** Next line tagged with one of `tags`: returns [tag, parsed json | raw rest]. */
  async next(tags: string[], timeoutMs = 30_000): Promise<[string, any]> {
    return this.until(
      () => {
        const i = this.lines.findIndex((l) => tags.some((t) => l === t || l.startsWith(t + ' ')));
        if (i < 0) return undefined;
        const line = this.lines.splice(i, 1)[0]!;
        const sp = line.indexOf(' ');
        const tag = sp < 0 ? line : line.slice(0, sp);
        const rest = sp < 0 ? '' : line.slice(sp + 1);
        let val: unknown = rest;
        try {
          val = rest ? JSON.parse(rest) : undefined;
        } catch {
          // not json: keep the raw text
        }
        return [tag, val] as [string, any];
      },
      `a line tagged ${tags.join('|')}`,
      timeoutMs,
    );
  }

  /** Waits for `text` on stderr (e.g. `CRASHPOINT commit:after-link`). */
  async stderrIncludes(text: string, timeoutMs = 30_000): Promise<void> {
    await this.until(() => (this.err.includes(text) ? true : undefined), JSON.stringify(text) + ' on stderr', timeoutMs);
  }

  send(line: string): void {
    this.proc.stdin.write(line + '\n');
  }

  endInput(): void {
    this.proc.stdin.end();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildResult> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }
}

/** Runs children/<script>.mjs with CK_ARGS = JSON(args). */
export function child(script: string, args: unknown, env: Record<string, string | undefined> = {}, extra: SpawnOptions = {}): Proc {
  requireBuild();
  const e: NodeJS.ProcessEnv = { ...process.env, CK_ARGS: JSON.stringify(args) };
  delete e.CONTAINERKIT_CRASHPOINT;
  delete e.CONTAINERKIT_CRASHPOINT_SKIP;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return new Proc(process.execPath, [join(CHILDREN, `${script}.mjs`)], { env: e, ...extra });
}

/** A one-shot children/ingest.mjs run: resolves with its `result`/`error` payload. */
export async function ingest(args: Record<string, unknown>, env: Record<string, string | undefined> = {}, timeoutMs = 60_000) {
  const p = child('ingest', args, env);
  const [tag, val] = await p.next(['result', 'error', 'uncaught'], timeoutMs);
  const r = await p.exited;
  return { ok: tag === 'result', tag, ...val, exit: r };
}

/** Runs the compiled CLI: `node dist/src/cli/main.js --root ROOT ...args`. */
export function cli(root: string, argv: string[], opts: { input?: Uint8Array | string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ChildResult> {
  requireBuild();
  return new Promise((res, rej) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DIST_JOBS: '1', ...opts.env };
    delete env.DIST_ROOT;
    const p = spawn(process.execPath, [CLI, '--root', root, ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 50_000);
    p.on('error', rej);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      res({ code, signal, stdout: out, stderr: err });
    });
    p.stdin.on('error', () => {});
    p.stdin.end(opts.input ?? '');
  });
}

/** Parses `dist active` table output into rows keyed by header. */
export function parseTable(text: string): Array<Record<string, string>> {
  const lines = text.split('\n').filter((l) => l.trim());
  if (!lines.length) return [];
  const header = lines[0]!.split(/\s{2,}/);
  return lines.slice(1).map((l) => {
    const cells = l.split(/\s{2,}/);
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------
// store layout and invariants

export function refKey(ref: string): string {
  return createHash('sha256').update(ref, 'utf8').digest('hex');
}

export function ingestPaths(root: string, ref: string) {
  const base = join(root, 'ingest', refKey(ref));
  // The holder's record lives inside the lock; `legacyOwner` is where an older version kept it.
  return { dir: base, data: join(base, 'data'), status: join(base, 'status'), lock: `${base}.lock`, owner: `${base}.lock/owner`, legacyOwner: `${base}.owner`, guard: `${base}.takeover` };
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Every committed blob whose bytes do not hash to its name (sha256 only). */
export async function badBlobs(root: string, verified?: Map<string, string>): Promise<string[]> {
  const dir = join(root, 'blobs', 'sha256');
  const names = await readdir(dir).catch(() => [] as string[]);
  const bad: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (verified?.get(n) === stamp) continue;
    const d = sha256(await readFile(p));
    if (d !== `sha256:${n}`) bad.push(`sha256:${n} holds ${d} (${st.size} bytes)`);
    else verified?.set(n, stamp);
  }
  return bad;
}

export async function blobNames(root: string): Promise<string[]> {
  return (await readdir(join(root, 'blobs', 'sha256')).catch(() => [] as string[])).map((n) => `sha256:${n}`);
}

export async function ingestEntries(root: string): Promise<string[]> {
  return readdir(join(root, 'ingest')).catch(() => [] as string[]);
}

/** Field 22 of /proc/<pid>/stat: the process start time in clock ticks. */
export async function startTicks(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
}

export async function bootId(): Promise<string | undefined> {
  return readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
}

export interface OwnerSpec {
  pid: number;
  host?: string;
  startTicks?: number;
  bootId?: string | null;
  /** Bind the record to this inode (and birth time) instead of the lock directory's. */
  lockIno?: number;
  lockBirth?: number;
  acquiredAt?: number;
}

export interface IngestFixture {
  ref: string;
  /** The ingest directory: absent, empty, or with files (default: 'files' when data/status given). */
  dir?: 'absent' | 'empty' | 'files';
  data?: Uint8Array;
  /** Mode of data (a crash between chmod 0444 and link leaves 0444). */
  dataMode?: number;
  /**
   * The status record: absent; an empty file; a torn record (first half of a valid frame);
   * garbage bytes; or a record written through the real StatusFile (fields merged over defaults).
   */
  status?: 'absent' | 'empty' | 'torn' | 'garbage' | Record<string, unknown>;
  /** A lock directory with an owner record (or none / a torn one) and a heartbeat this old. */
  lock?: { owner?: OwnerSpec | 'none' | 'torn'; heartbeatAgeMs?: number };
  /** A leftover takeover guard this old. */
  guardAgeMs?: number;
  /** An owner file without a lock (a crashed release). */
  orphanOwner?: OwnerSpec;
  /** Ages every file of the ingest (dir, data, status) by this much. */
  ageMs?: number;
}

/** Lays out an ingest (and its lock) as a crash or another process leaves it, in one call. */
export async function layoutIngest(root: string, f: IngestFixture): Promise<ReturnType<typeof ingestPaths>> {
  const { status: statusMod } = await dist();
  const p = ingestPaths(root, f.ref);
  await mkdir(join(root, 'ingest'), { recursive: true });
  const dirMode = f.dir ?? (f.data !== undefined || (f.status !== undefined && f.status !== 'absent') ? 'files' : 'absent');
  if (dirMode !== 'absent') await mkdir(p.dir, { recursive: true });
  if (dirMode === 'files') {
    if (f.data !== undefined) await writeFile(p.data, f.data, { mode: f.dataMode ?? 0o644 });
    const s = f.status ?? 'absent';
    if (s === 'empty') await writeFile(p.status, '');
    else if (s === 'garbage') await writeFile(p.status, Buffer.from('not a status record \x00\xff'.repeat(50), 'binary'));
    else if (s === 'torn' || typeof s === 'object') {
      const now = Date.now();
      const record = { v: 1, ref: f.ref, alg: 'sha256', startedAt: now, updatedAt: now, ...(typeof s === 'object' ? s : {}) };
      const { file } = await statusMod.StatusFile.open(p.status);
      await file.write(record);
      await file.close();
      if (s === 'torn') {
        const buf = await readFile(p.status);
        await writeFile(p.status, buf.subarray(0, Math.max(8, buf.length >> 1)));
      }
    }
  }
  if (f.lock) {
    await mkdir(p.lock);
    const st = await stat(p.lock);
    const o = f.lock.owner ?? 'none';
    // A lock is never empty: 'none' is a lock whose record is unreadable (empty), 'torn' one
    // whose record is cut short; a record bound to another lock's inode is what an older
    // version left beside its lock.
    if (o === 'torn') await writeFile(p.owner, Buffer.from([0x85, 0xa3]));
    else if (o === 'none') await writeFile(p.owner, '');
    else if (o.lockIno !== undefined) {
      await writeFile(p.owner, '');
      await writeFile(p.legacyOwner, await ownerRecord(o, st));
    } else await writeFile(p.owner, await ownerRecord(o, st));
    if (f.lock.heartbeatAgeMs) {
      const t = (Date.now() - f.lock.heartbeatAgeMs) / 1000;
      await utimes(p.lock, t, t);
    }
  }
  if (f.orphanOwner) await writeFile(p.legacyOwner, await ownerRecord(f.orphanOwner, { ino: 1, birthtimeMs: 1 }));
  if (f.guardAgeMs !== undefined) {
    await mkdir(p.guard);
    const t = (Date.now() - f.guardAgeMs) / 1000;
    await utimes(p.guard, t, t);
  }
  if (f.ageMs) {
    const t = (Date.now() - f.ageMs) / 1000;
    for (const q of [p.data, p.status, p.dir]) await utimes(q, t, t).catch(() => {});
  }
  return p;
}

/**
 * An owner record in the lock's format: msgpack of Owner + the lock directory's identity
 * (inode and birth time, so a record left by an earlier holder never matches) + acquiredAt.
 */
export async function ownerRecord(o: OwnerSpec, lock: { ino: number; birthtimeMs: number }): Promise<Buffer> {
  return pack({
    pid: o.pid,
    host: o.host ?? hostname(),
    bootId: o.bootId === null ? undefined : (o.bootId ?? (await bootId())),
    startTicks: o.startTicks,
    lockIno: o.lockIno ?? lock.ino,
    lockBirth: o.lockBirth ?? lock.birthtimeMs,
    acquiredAt: o.acquiredAt ?? Date.now(),
  });
}

/** A pid that is certainly not running (a child that already exited). */
export async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('close', r));
  return p.pid!;
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => {});
}

/**
 * Per-file scratch space: registers beforeAll/afterAll that create a temp dir and, at the
 * end, kill every tracked child and remove the dir. newRoot() gives each test its own store.
 */
export function useScratch(name: string): { newRoot(): Promise<string>; track(p: Proc): Proc; readonly base: string } {
  let base: string;
  let n = 0;
  const procs: Proc[] = [];
  beforeAll(async () => {
    base = await tempDir(name);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await cleanup(base);
  });
  return {
    async newRoot() {
      const r = join(base, `s${n++}`);
      await mkdir(r, { recursive: true });
      return r;
    },
    track: (p: Proc) => (procs.push(p), p),
    get base() {
      return base;
    },
  };
}
