/**
 * Real `dist serve` processes (the compiled CLI) for the service tests: started on a Unix
 * socket (or loopback port), ready once they print `serving on ADDRESS`, stopped by a real
 * signal. `ctr` (Debian's containerd package) runs as a real client against them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_MAIN, requireBuild } from '../../helpers/paths.js';

export interface Served {
  address: string;
  /** The socket path (Unix addresses). */
  socket?: string;
  proc: ChildProcessWithoutNullStreams;
  readonly stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServeOptions {
  extraArgs?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

function testEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DIST_ROOT;
  delete env.DIST_ADDRESS;
  env.DIST_JOBS ??= '1';
  return { ...env, ...extra };
}

/** Starts `dist --root ROOT serve --address ADDRESS`; resolves once it listens. */
export async function startServe(root: string, address: string, opts: ServeOptions = {}): Promise<Served> {
  requireBuild();
  const proc = spawn(process.execPath, [CLI_MAIN, '--root', root, 'serve', '--address', address, ...(opts.extraArgs ?? [])], {
    env: testEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  proc.stdin.end();
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dist serve did not start within ${opts.timeoutMs ?? 20_000} ms; stderr: ${stderr}`)), opts.timeoutMs ?? 20_000);
    createInterface({ input: proc.stdout }).on('line', (l) => {
      const m = /^serving on (.+)$/.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`dist serve exited (${e.code ?? e.signal}) before listening; stderr: ${stderr}`));
    });
  });
  return {
    address: listening,
    ...(listening.startsWith('unix://') ? { socket: listening.slice('unix://'.length) } : {}),
    proc,
    get stderr() {
      return stderr;
    },
    exited,
    async stop(timeoutMs = 20_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const e = await exited;
      clearTimeout(t);
      return e;
    },
  };
}

/** Throws the one clear error when `ctr` (Debian package containerd) is not installed. */
export function requireCtr(): void {
  const found = (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', 'ctr'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error('ctr not found: run scripts/test-setup.sh (npm test does), which installs Debian\'s containerd package');
}
