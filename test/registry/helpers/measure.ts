/**
 * Runs the compiled CLI and measures it: wall time and peak RSS (the kernel's ru_maxrss,
 * printed at exit by report-max-rss.mjs). A watchdog reads /proc/<pid>/status every 20 ms
 * and SIGKILLs a child whose RSS passes `ceilingBytes` or that outlives `deadlineMs`, so a
 * regression fails the test quickly instead of exhausting the machine.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DIST } from './cli.js';

export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stderr without the MAXRSS line. */
  stderr: string;
  elapsedMs: number;
  /** Peak RSS in bytes (ru_maxrss at exit, else the watchdog's highest reading). */
  peakRss: number;
  /** Why the watchdog killed the child, if it did. */
  killed?: string;
}

const PRELOAD = fileURLToPath(new URL('report-max-rss.mjs', import.meta.url));

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function measureDist(
  args: string[],
  o: { root: string; env?: NodeJS.ProcessEnv; ceilingBytes: number; deadlineMs: number },
): Promise<Measured> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', PRELOAD, DIST, '--root', o.root, ...args], {
    env: { ...process.env, DIST_RETRY_BASE_MS: '20', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let watched = 0;
  let killed: string | undefined;
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setInterval(() => {
    const rss = rssOf(child.pid!);
    watched = Math.max(watched, rss);
    const age = performance.now() - started;
    if (rss > o.ceilingBytes) killed = `RSS ${rss} bytes over the ${o.ceilingBytes}-byte ceiling after ${Math.round(age)} ms`;
    else if (age > o.deadlineMs) killed = `still running after ${o.deadlineMs} ms`;
    if (killed) child.kill('SIGKILL');
  }, 20);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearInterval(timer);
      const m = /^MAXRSS_KIB (\d+)\n/m.exec(stderr);
      resolve({
        code,
        signal,
        stdout,
        stderr: stderr.replace(/^MAXRSS_KIB \d+\n/m, ''),
        elapsedMs: performance.now() - started,
        peakRss: m ? Number(m[1]) * 1024 : watched,
        ...(killed ? { killed } : {}),
      });
    }),
  );
}
