import type { Command } from 'commander';
import type { Status } from '../../content/types.js';
import { formatOwner } from '../../local/owner.js';
import { action, table, withStore } from '../context.js';
import { formatBytes, formatDuration, parseDuration } from '../duration.js';

/** Bytes per second: from the previous sample when watching, else averaged since start. */
function rateOf(s: Status, prev: Map<string, { offset: number; at: number }>, now: number): number | undefined {
  const p = prev.get(s.ref);
  if (p && now > p.at) return ((s.offset - p.offset) * 1000) / (now - p.at);
  if (s.state !== 'active') return undefined;
  const elapsed = now - s.startedAt.getTime();
  return elapsed > 0 ? (s.offset * 1000) / elapsed : undefined;
}

function render(list: Status[], prev: Map<string, { offset: number; at: number }>, now: number): string {
  const rows = list.map((s) => {
    const rate = rateOf(s, prev, now);
    return [
      s.ref,
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

function toJson(s: Status, rate: number | undefined) {
  return {
    ref: s.ref,
    offset: s.offset,
    total: s.total ?? null,
    expected: s.expected ?? null,
    startedAt: s.startedAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    owner: s.owner ?? null,
    state: s.state,
    lockAgeMs: s.lockAgeMs ?? null,
    rate: rate ?? null,
  };
}

export function register(program: Command): void {
  program
    .command('active')
    .summary('list ingests in progress (in any process) and resumable ones')
    .description(
      'Lists ingests: REF, OFFSET, TOTAL, PCT, RATE, STARTED and UPDATED (ages), OWNER (pid@host) and STATE: active (held by a live process), idle (resumable, nobody holds it) or stale (its holder died; the next writer takes it over, `dist prune` removes it).',
    )
    .option('--json', 'print JSON')
    .option('--prefix <prefix>', 'only refs starting with this prefix')
    .option('-w, --watch', 'refresh in place until interrupted')
    .option('--interval <duration>', 'refresh period with --watch', '1s')
    .action(
      action(async (opts: { json?: boolean; prefix?: string; watch?: boolean; interval: string }, cmd: Command) =>
        withStore(cmd, async (store) => {
          const prev = new Map<string, { offset: number; at: number }>();
          const interval = parseDuration(opts.interval);
          let stop = false;
          if (opts.watch) process.once('SIGINT', () => (stop = true));
          do {
            const list = await store.listStatuses({ prefix: opts.prefix });
            const now = Date.now();
            if (opts.json) {
              const out = list.map((s) => toJson(s, rateOf(s, prev, now)));
              process.stdout.write(opts.watch ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
            } else {
              if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
              process.stdout.write(list.length || opts.watch ? render(list, prev, now) : '');
            }
            prev.clear();
            for (const s of list) prev.set(s.ref, { offset: s.offset, at: now });
            if (opts.watch) await new Promise((r) => setTimeout(r, interval));
          } while (opts.watch && !stop);
        }),
      ),
    );
}
