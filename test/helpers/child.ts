/**
 * Long-lived child processes that use the compiled library (dist/src/index.js) and talk
 * over a line protocol: the child prints lines on stdout (e.g. `ready <json>`), the test
 * sends commands on stdin.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DIST_INDEX_URL, requireBuild } from './paths.js';

export class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  private stderrText = '';

  constructor(source: string, env: Record<string, string>) {
    requireBuild();
    this.proc = spawn(process.execPath, ['--input-type=module', '-e', source], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdin.on('error', () => {});
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      this.lines.push(l);
      this.wake();
    });
    this.proc.stderr.on('data', (c: Buffer) => (this.stderrText += c.toString()));
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        resolve({ code, signal });
        this.wake();
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get stderr(): string {
    return this.stderrText;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first line starting with `prefix` (and removes it); rejects if the child exits first. */
  async waitFor(prefix: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.lines.splice(i, 1)[0]!;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`child exited (${this.proc.exitCode ?? this.proc.signalCode}) before printing ${JSON.stringify(prefix)}; stdout: ${this.lines.join('\n')}\nstderr: ${this.stderrText}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${JSON.stringify(prefix)} from child; stderr: ${this.stderrText}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.proc.stdin.write(line + '\n');
  }

  /** SIGKILL if still running; always resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A child that opens a writer on `ref` in the store at `root`, writes `bytes` bytes
 * (deterministic content), prints `ready {"pid":…,"offset":…}` and then obeys one command
 * from stdin: `close` (keep the partial data), `commit`, or nothing (wait to be killed).
 * If opening the writer fails it prints `error {"kind":…,"code":…,"message":…}`.
 */
export function startWriterChild(opts: { root: string; ref: string; bytes: number; total?: number }): Child {
  const source = `
import { openStore } from ${JSON.stringify(DIST_INDEX_URL)};
import { createInterface } from 'node:readline';
const { root, ref, bytes, total } = JSON.parse(process.env.CK_CHILD_ARGS);
const store = openStore(root);
let w;
try {
  w = await store.writer({ ref, total });
} catch (err) {
  console.log('error ' + JSON.stringify({ kind: err.kind, code: err.code, message: err.message, details: err.details }));
  await store.close();
  process.exit(0);
}
const chunk = Buffer.alloc(Math.min(bytes, 65536), 0x61);
let left = bytes;
while (left > 0) {
  const n = Math.min(left, chunk.length);
  await w.write(chunk.subarray(0, n));
  left -= n;
}
const st = await w.status();
console.log('ready ' + JSON.stringify({ pid: process.pid, offset: st.offset }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'close') { await w.close(); console.log('closed'); break; }
  if (line === 'commit') { const d = await w.commit(); console.log('committed ' + d); break; }
}
// Stop reading stdin so the process can exit once the store has released everything.
process.stdin.destroy();
await store.close();
`;
  return new Child(source, { CK_CHILD_ARGS: JSON.stringify(opts) });
}

/** A child that runs `body` (an async function body with `store` and `args` in scope) and prints its JSON result as `result <json>`. */
export function runInChild(root: string, body: string, args: unknown = null): Child {
  const source = `
import { openStore } from ${JSON.stringify(DIST_INDEX_URL)};
const args = JSON.parse(process.env.CK_CHILD_ARGS);
const store = openStore(${JSON.stringify(root)});
try {
  const result = await (async () => { ${body} })();
  console.log('result ' + JSON.stringify(result ?? null));
} catch (err) {
  console.log('error ' + JSON.stringify({ kind: err.kind, code: err.code, message: err.message, details: err.details }));
} finally {
  await store.close();
}
`;
  return new Child(source, { CK_CHILD_ARGS: JSON.stringify(args) });
}
