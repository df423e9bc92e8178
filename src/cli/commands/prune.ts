import type { Command } from 'commander';
import { action, printJson, table, withStore } from '../context.js';
import { formatBytes, formatDuration, parseDuration } from '../duration.js';

export function register(program: Command): void {
  program
    .command('prune')
    .summary('remove idle and stale ingests, orphaned locks and crash debris')
    .description(
      'Removes ingests nobody holds (idle) or whose holder died (stale), older than --older-than, plus orphaned lock files and temp files left by crashes. Never touches an ingest held by a live process.',
    )
    .option('--older-than <duration>', 'only ingests not updated for this long (e.g. 1h, 7d)', '0')
    .option('--dry-run', 'show what would be removed')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { olderThan: string; dryRun?: boolean; json?: boolean }, cmd: Command) =>
        withStore(cmd, async (store) => {
          const r = await store.prune({ olderThanMs: parseDuration(opts.olderThan), dryRun: opts.dryRun });
          if (opts.json) return printJson(r);
          if (r.removed.length) {
            process.stdout.write(
              table([
                ['REF', 'OFFSET', 'STATE', 'AGE'],
                ...r.removed.map((p) => [p.ref ?? p.key, String(p.offset), p.state, formatDuration(p.ageMs)]),
              ]),
            );
          }
          const bytes = r.removed.reduce((n, p) => n + p.offset, 0);
          process.stderr.write(
            `${r.dryRun ? 'would remove' : 'removed'} ${r.removed.length} item(s), ${formatBytes(bytes)}; kept ${r.kept} ingest(s)\n`,
          );
        }),
      ),
    );
}
