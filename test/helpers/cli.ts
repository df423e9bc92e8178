/**
 * Runs the compiled `dist` CLI (node dist/src/cli/main.js) as a real child process, and
 * shell pipelines with a `dist` executable on PATH.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_MAIN, requireBuild } from './paths.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** Passed as `--root <root>` before the arguments. */
  root?: string;
  /** Extra environment (merged over a copy of process.env without DIST_ROOT). */
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
  cwd?: string;
  timeoutMs?: number;
}

function baseEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DIST_ROOT;
  delete env.DIST_DEBUG;
  // A small hashing pool keeps many concurrent CLI processes cheap on a 2-core machine.
  env.DIST_JOBS ??= '1';
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function collect(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: baseEnv(opts.env), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 50_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') });
    });
    // The CLI may exit before reading stdin (e.g. a usage error): ignore EPIPE.
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** `dist [--root R] ...args` */
export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  requireBuild();
  const full = opts.root !== undefined ? ['--root', opts.root, ...args] : args;
  return collect(process.execPath, [CLI_MAIN, ...full], opts);
}

/** Makes `<tempRoot>/bin/dist`, an executable that runs the compiled CLI; returns the directory. */
export async function distBinDir(tempRoot: string): Promise<string> {
  requireBuild();
  const dir = join(tempRoot, 'bin');
  await mkdir(dir, { recursive: true });
  const exe = join(dir, 'dist');
  await writeFile(exe, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} "$@"\n`);
  await chmod(exe, 0o755);
  return dir;
}

/** Runs `script` with bash, `dist` on PATH, `set -o pipefail`. */
export async function runShell(script: string, opts: RunOptions & { binDir: string }): Promise<RunResult> {
  const env = { ...opts.env, PATH: `${opts.binDir}:${process.env.PATH ?? ''}` };
  return collect('bash', ['-c', `set -o pipefail\n${script}`], { ...opts, env, timeoutMs: opts.timeoutMs ?? 120_000 });
}

/** Starts `dist [--root R] ...args` with stdin left open for the test to feed. */
export function spawnCli(args: string[], opts: RunOptions = {}): ChildProcessWithoutNullStreams {
  requireBuild();
  const full = opts.root !== undefined ? ['--root', opts.root, ...args] : args;
  const child = spawn(process.execPath, [CLI_MAIN, ...full], { env: baseEnv(opts.env), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  return child;
}
