/**
 * Runs the compiled CLI (`npm run build` first) as a child process, as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './registry.js';

export const DIST = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export function startDist(args: string[], o: { root: string; env?: NodeJS.ProcessEnv; input?: Buffer }): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [DIST, '--root', o.root, ...args], {
    env: { ...process.env, DIST_RETRY_BASE_MS: '20', ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  if (o.input) child.stdin!.end(o.input);
  else child.stdin!.end();
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr })),
  );
  return { child, done };
}

export function dist(args: string[], o: { root: string; env?: NodeJS.ProcessEnv; input?: Buffer }): Promise<Run> {
  return startDist(args, o).done;
}

/** Throws with the exit status and the whole stderr unless the run succeeded silently. */
export function expectOk(r: Run, what = 'dist'): void {
  if (r.code !== 0 || r.stderr !== '') throw new Error(`${what}: exit ${r.code ?? r.signal}, stderr: ${r.stderr}`);
}
