/**
 * What every `dist` command shares: the store root (--root, $DIST_ROOT, ./.content), output
 * helpers, and the one place errors become `dist: <message>` plus an exit code.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Store } from '../content/types.js';
import { canceled, ContentError, EXIT_CODES, failedPrecondition, invalidArgument, notFound, wrapSystemError } from '../errors.js';
import { closeDefaultEngine } from '../hash/engine.js';
import { openStore, type LocalStore, type StoreOptions } from '../local/store.js';
import type { RemoteOptions } from '../remote-store/connect.js';
import type { RemoteStore } from '../remote-store/store.js';
import { displayField, escapeControls } from './escape.js';

export const DEFAULT_ROOT = './.content';

/** --root (never empty: its parser refuses ''), else $DIST_ROOT unless empty, else ./.content. */
export function rootOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { root?: string };
  return opts.root ?? (process.env.DIST_ROOT || DEFAULT_ROOT);
}

/** A usage error found by a command itself (exit 2, like commander's own). */
export class UsageError extends Error {}

/** --address, else $DIST_ADDRESS unless empty: the server a command works through, if any. */
export function addressOf(cmd: Command): string | undefined {
  const opts = cmd.optsWithGlobals() as { address?: string };
  return opts.address ?? (process.env.DIST_ADDRESS || undefined);
}

/**
 * `read`: the command needs an existing store (list, info, active, verify, prune…); a
 * missing root is NotFound, so a typo in --root is an error and not an empty store created
 * on the spot. `write`: the command creates the root when it is missing (ingest, add, pull).
 */
export type Access = 'read' | 'write';

/** Checks the root before the store is opened (opening one creates it). */
export async function checkRoot(root: string, access: Access): Promise<void> {
  const notDir = () => failedPrecondition('ERR_ROOT_NOT_DIRECTORY', `store root ${root} is not a directory`, { path: root });
  let st;
  try {
    st = await stat(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && access === 'write') return;
    if (code === 'ENOENT') {
      throw notFound('ERR_ROOT_NOT_FOUND', `store root ${root} does not exist (ingest, add and pull create it)`, { path: root });
    }
    if (code === 'ENOTDIR') throw notDir();
    throw wrapSystemError(err, `opening store root ${root}`, { path: root });
  }
  if (!st.isDirectory()) throw notDir();
}

/**
 * Lock timing from the environment: DIST_LOCK_STALE_MS (default 10000) is how long a
 * holder on another host (or of unknown identity) may go without a heartbeat before its
 * ref is taken over — raise it for slow network file systems.
 */
function lockFromEnv(): StoreOptions['lock'] {
  const raw = process.env.DIST_LOCK_STALE_MS;
  if (raw === undefined || raw === '') return undefined;
  const staleMs = Number(raw);
  if (!Number.isSafeInteger(staleMs) || staleMs < 2000) {
    throw invalidArgument('ERR_INVALID_STALE', `DIST_LOCK_STALE_MS must be an integer of at least 2000 (ms), got ${JSON.stringify(raw)}`, { actual: raw });
  }
  return { staleMs };
}

/** Runs a command body with the store open, closing it (pool, watchers) whatever happens. */
export async function withStore<T>(cmd: Command, access: Access, body: (store: LocalStore) => Promise<T>, options?: StoreOptions): Promise<T> {
  const address = addressOf(cmd);
  if (address !== undefined) {
    const names: string[] = [];
    for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
    throw new UsageError(`\`dist ${names.join(' ')}\` works on a local store root only, not through a server (--address/DIST_ADDRESS ${address})`);
  }
  const root = rootOf(cmd);
  await checkRoot(root, access);
  const lock = lockFromEnv();
  const store = openStore(root, { ...options, create: access === 'write', ...(lock ? { lock: { ...lock, ...options?.lock } } : {}) });
  try {
    return await body(store);
  } finally {
    await store.close();
    await closeDefaultEngine();
  }
}

/** Where a command's content lives: the local root, or a server's content API. */
export type Target = { kind: 'local'; store: LocalStore } | { kind: 'remote'; store: RemoteStore };

/**
 * Runs a command body against the local store, or — with --address/DIST_ADDRESS — against
 * the server there, through the remote store (same Store contract). `remote` options (a
 * lease) apply to the server's calls; `local` store options to the local store.
 */
export async function withContentStore<T>(
  cmd: Command,
  access: Access,
  body: (store: Store, target: Target) => Promise<T>,
  options: { local?: StoreOptions; remote?: RemoteOptions } = {},
): Promise<T> {
  const address = addressOf(cmd);
  if (address === undefined) return withStore(cmd, access, (store) => body(store, { kind: 'local', store }), options.local);
  const { openRemoteStore } = await import('../remote-store/store.js');
  const store = await openRemoteStore(address, options.remote);
  try {
    return await body(store, { kind: 'remote', store });
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Left-aligned columns separated by two spaces; the last column is not padded. Cells are
 * escaped for the terminal (src/cli/escape.ts): a ref or path cannot break a row.
 */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const safe = rows.map((r) => r.map(displayField));
  const widths: number[] = [];
  for (const r of safe) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return safe.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Exit code for an error; prints the one-line message (escaped: it may quote a ref). */
export function reportError(err: unknown): number {
  const syscall = (err as NodeJS.ErrnoException | undefined)?.syscall;
  const e = err instanceof ContentError ? err : wrapSystemError(err, syscall ? `${syscall} failed` : 'unexpected error');
  process.stderr.write(`dist: ${escapeControls(e.message)}\n`);
  if (process.env.DIST_DEBUG) process.stderr.write(`${e.stack}\n`);
  return EXIT_CODES[e.kind];
}

/** Reads whitespace-separated words from stdin (for `-` arguments). */
export async function readStdinWords(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\s+/).filter(Boolean);
}

/** Expands a lone `-` in an argument list to the words on stdin. */
export async function expandDash(args: string[]): Promise<string[]> {
  if (!args.includes('-')) return args;
  const fromStdin = await readStdinWords();
  return args.flatMap((a) => (a === '-' ? fromStdin : [a]));
}

/**
 * Wraps a command action: errors become `dist: <message>` and the kind's exit code. The
 * action's last argument is the Command (commander's convention).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      if (err instanceof UsageError) {
        process.stderr.write(`dist: ${escapeControls(err.message)} (see --help)\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = reportError(err);
      // Interrupted: cleanup (writers closed, data kept) is done, but a read blocked on a
      // stalled pipe would keep the process alive until the producer writes again.
      if (err instanceof ContentError && err.kind === 'Canceled') process.exit(process.exitCode);
    }
  };
}

/**
 * SIGINT/SIGTERM abort `controller` (so writers close, keeping partial data for resume) and
 * end stdin; the command then exits 130. A second signal exits at once.
 */
export function interruptible(): AbortController {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(canceled('ERR_INTERRUPTED', `interrupted by ${sig}`));
    process.stdin.destroy();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return controller;
}
