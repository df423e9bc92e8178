import { Command, Option } from 'commander';
import type { Status } from '../../content/types.js';
import { formatOwner } from '../../local/owner.js';
import { action, table, withContentStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';
import { durationOption } from '../options.js';

/** The shortest --watch period: a shorter one redraws faster than anyone reads. */
const MIN_INTERVAL_MS = 100;

/**
 * RATE has one meaning everywhere (table, --watch, --json): the average since the ingest
 * started, for an ingest a live process holds; none for idle and stale ingests (nobody is
 * writing). A writer that stopped writing shows as a falling RATE and a growing UPDATED;
 * one whose process is stopped (its heartbeat too) shows as `stalled`, with no RATE.
 */
function rateOf(s: Status, now: number): number | undefined {
  if (s.state !== 'active') return undefined;
  const elapsed = now - s.startedAt.getTime();
  return elapsed > 0 ? (s.offset * 1000) / elapsed : undefined;
}

function render(list: Status[], now: number): string {
  const rows = list.map((s) => {
    const rate = rateOf(s, now);
    return [
      // An ingest whose status record is unreadable is named by its key (its ref is unknown).
      s.damaged ? `(unreadable status) ${s.key?.slice(0, 16)}…` : s.ref,
      String(s.offset),
      s.total !== undefined ? String(s.total) : '-',
      s.total ? `${Math.floor((100 * s.offset) / s.total)}%` : '-',
      rate !== undefined ? `${formatBytes(rate)}/s` : '-',
      formatDuration(now - s.startedAt.getTime()),
      formatDuration(now - s.updatedAt.getTime()),
      s.state === 'idle' ? '-' : formatOwner(s.owner),
      s.state ?? '-',
    ];
  });
  return table([['REF', 'OFFSET', 'TOTAL', 'PCT', 'RATE', 'STARTED', 'UPDATED', 'OWNER', 'STATE'], ...rows]);
}

function toJson(s: Status, now: number) {
  return {
    ref: s.ref,
    key: s.key ?? null,
    ...(s.damaged ? { damaged: true } : {}),
    offset: s.offset,
    total: s.total ?? null,
    expected: s.expected ?? null,
    startedAt: s.startedAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    owner: s.owner ?? null,
    state: s.state,
    lockAgeMs: s.lockAgeMs ?? null,
    heartbeatAgeMs: s.heartbeatAgeMs ?? null,
    rate: rateOf(s, now) ?? null,
  };
}

/**
 * The watch loop's clock: `sleep` resolves after `ms`, or at once when SIGINT/SIGTERM
 * arrives; `signal` then says which (handlers stay installed for the whole watch, so a
 * signal during a listing is caught too).
 */
function watchClock() {
  let wake: (() => void) | undefined;
  const clock = {
    signal: undefined as NodeJS.Signals | undefined,
    sleep(ms: number): Promise<void> {
      if (clock.signal) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => ((wake = undefined), resolve()), ms);
        wake = () => (clearTimeout(timer), resolve());
      });
    },
  };
  const on = (sig: NodeJS.Signals) => {
    clock.signal ??= sig;
    wake?.();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return clock;
}

export function register(program: Command): void {
  program
    .command('active')
    .summary('list ingests in progress (in any process) and resumable ones')
    .description(
      'Lists ingests: REF, OFFSET, TOTAL, PCT, RATE, STARTED and UPDATED (ages), OWNER (pid@host) and STATE: active (held by a live process), stalled (held by a live process on this host whose heartbeat stopped — stopped by SIGSTOP, a debugger or a suspend: it keeps the ref until it exits; `dist abort --force REF` takes it), idle (resumable, nobody holds it) or stale (its holder died, or is on another host and its heartbeat stopped; the next writer takes it over, `dist prune` removes it). An ingest whose status record is unreadable (torn by a crash) is listed by its key.\n\n' +
        'RATE is the average since the ingest started (bytes/s), for active ingests only; idle and stale ingests show "-". It means the same in the table, with --watch and in --json (`rate`, null when "-").\n\n' +
        '--watch redraws every --interval (at least 100ms) until interrupted; Ctrl-C exits 130.',
    )
    .option('--json', 'print JSON (with --watch: one JSON array per line)')
    .option('--prefix <prefix>', 'only refs starting with this prefix')
    .option('-w, --watch', 'refresh in place until interrupted')
    .addOption(new Option('--interval <duration>', 'refresh period with --watch, at least 100ms').argParser(durationOption('--interval', MIN_INTERVAL_MS)).default(1000, '1s'))
    .action(
      action(async (opts: { json?: boolean; prefix?: string; watch?: boolean; interval: number }, cmd: Command) =>
        withContentStore(cmd, 'read', async (store) => {
          const clock = opts.watch ? watchClock() : undefined;
          for (;;) {
            const list = await store.listStatuses({ prefix: opts.prefix });
            const now = Date.now();
            if (opts.json) {
              const out = list.map((s) => toJson(s, now));
              process.stdout.write(opts.watch ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
            } else {
              if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
              process.stdout.write(list.length || opts.watch ? render(list, now) : '');
            }
            if (!clock) return 0;
            await clock.sleep(opts.interval);
            // Interrupted: the watch is over, and the shell sees it as such (128 + SIGINT).
            if (clock.signal) return 130;
          }
        }),
      ),
    );
}
