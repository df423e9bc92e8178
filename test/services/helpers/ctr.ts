/** Runs Debian's `ctr` (containerd 1.6's client) against a server's socket. */
import { spawn, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { requireCtr } from './serve.js';

export interface CtrResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CtrOptions {
  input?: string | Uint8Array;
  /** A file given as stdin (seekable: ctr resumes an ingest by seeking it). */
  stdinFile?: string;
  /** The caller writes stdin itself (collect() leaves it open). */
  keepStdin?: boolean;
  timeoutMs?: number;
}

/** `ctr -a SOCKET ...args`, to completion. */
export async function ctr(socket: string, args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
  requireCtr();
  const fh = opts.stdinFile ? await open(opts.stdinFile, 'r') : undefined;
  try {
    const child = spawn('ctr', ['-a', socket, ...args], { stdio: [fh ? fh.fd : 'pipe', 'pipe', 'pipe'] });
    return await collect(child, opts);
  } finally {
    await fh?.close();
  }
}

export function collect(child: ChildProcess, opts: CtrOptions = {}): Promise<CtrResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => (clearTimeout(timer), reject(e)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') });
    });
    if (child.stdin && !opts.keepStdin) {
      child.stdin.on('error', () => {});
      if (opts.input !== undefined) child.stdin.end(opts.input);
      else child.stdin.end();
    }
  });
}

/** Fails with ctr's output when it did not exit 0. */
export function ok(r: CtrResult, what: string): CtrResult {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
