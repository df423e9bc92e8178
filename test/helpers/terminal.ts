/**
 * Real terminals for the CLI's TTY paths (progress bar, waiting notice, stdin checks):
 * - `inTmux`: a tmux server on a private socket runs a command in a pane of a given size;
 *   `screen()` is what a person would see (tmux capture-pane), at any moment mid-run.
 * - `inPty`: util-linux `script` gives a command a pseudo-terminal for stdin, stdout and
 *   stderr, and transcribes everything it prints.
 * Both tools are installed by scripts/test.sh (tmux; script is in Debian's essential set).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI_MAIN, requireBuild } from './paths.js';

/** `node dist/src/cli/main.js`, quoted for sh. */
export function distCommand(): string {
  requireBuild();
  return `${shq(process.execPath)} ${shq(CLI_MAIN)}`;
}

export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface TmuxPane {
  /** The visible screen, one string per row, trailing blanks trimmed. */
  screen(): string[];
  /** Polls the screen until `test` passes; throws with the last screen after timeoutMs. */
  waitFor(test: (rows: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  kill(): void;
}

export function inTmux(dir: string, command: string, opts: { cols?: number; rows?: number; env?: Record<string, string> } = {}): TmuxPane {
  const sock = join(dir, 'tmux.sock');
  const env = { ...process.env, ...opts.env };
  delete env.TMUX;
  const tmux = (...args: string[]) => {
    const r = spawnSync('tmux', ['-S', sock, '-f', '/dev/null', ...args], { env, encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`tmux ${args[0]} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  // The pane stays open after the command so its last screen can be read.
  tmux('new-session', '-d', '-s', 't', '-x', String(opts.cols ?? 160), '-y', String(opts.rows ?? 40), `${command}; echo "[exit $?]"; sleep 600`);
  const pane: TmuxPane = {
    screen: () => tmux('capture-pane', '-p', '-t', 't').split('\n').map((l) => l.trimEnd()),
    async waitFor(test, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = pane.screen();
        if (test(rows)) return rows;
        if (Date.now() > deadline) throw new Error(`screen never matched; last screen:\n${rows.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill: () => void spawnSync('tmux', ['-S', sock, 'kill-server'], { env }),
  };
  return pane;
}

/** The last row with text on it (where a one-line progress bar sits). */
export function lastLine(rows: string[]): string {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.trim()) return rows[i]!;
  return '';
}

export interface PtyRun {
  /** Everything the command printed so far (stdout and stderr share the terminal). */
  output(): string;
  exited: Promise<number | null>;
  kill(): void;
}

/** Runs `command` (sh syntax) under `script`, its stdin, stdout and stderr a pseudo-terminal. */
export function inPty(command: string, opts: { env?: Record<string, string> } = {}): PtyRun {
  const env = { ...process.env, DIST_JOBS: '1', ...opts.env };
  delete env.DIST_ROOT;
  const child = spawn('script', ['-qefc', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  // stdin stays open: script would pass an EOF on to the command's terminal.
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { output: () => text, exited, kill: () => void child.kill('SIGKILL') };
}
