import { Command, Option } from 'commander';
import { EXIT_CODES } from '../../errors.js';
import { escapeControls } from '../escape.js';
import { action, printJson, table, withStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';
import { durationOption } from '../options.js';

/**
 * Ingests untouched for a day are taken for abandoned, as containerd expires ingests after
 * 24 h: a younger idle ingest is most likely a download that will be resumed.
 */
const DEFAULT_AGE_MS = 24 * 3_600_000;

export function register(program: Command): void {
  program
    .command('prune')
    .summary('remove old idle and stale ingests, orphaned locks and crash debris')
    .description(
      'Removes ingests nobody holds (idle: resumable) or whose holder died (stale) that were not updated for --older-than (default 24h, like containerd\'s ingest expiry: a younger idle ingest is likely a download still to be resumed), plus orphaned lock files and temp files left by crashes. Never touches an ingest held by a live process. --older-than 0 removes every idle and stale ingest.',
    )
    .addOption(new Option('--older-than <duration>', 'only ingests not updated for this long (e.g. 1h, 7d; 0: all)').argParser(durationOption('--older-than')).default(DEFAULT_AGE_MS, '24h'))
    .option('--dry-run', 'show what would be removed')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { olderThan: number; dryRun?: boolean; json?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const r = await store.prune({ olderThanMs: opts.olderThan, dryRun: opts.dryRun });
          // Ingests that could not be removed (e.g. permission denied) are reported, one line
          // each, and the exit code is the first one's kind.
          const failedCode = r.failed.length ? EXIT_CODES[r.failed[0]!.error.kind] : 0;
          if (opts.json) {
            printJson({ ...r, failed: r.failed.map((f) => ({ key: f.key, ref: f.ref ?? null, error: f.error.toJSON() })) });
            return failedCode;
          }
          for (const f of r.failed) process.stderr.write(`dist: ${escapeControls(f.error.message)}\n`);
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
            `${r.dryRun ? 'would remove' : 'removed'} ${r.removed.length} item(s), ${formatBytes(bytes)}; kept ${r.kept} ingest(s)` +
              `${r.kept ? ` (held by a live process${opts.olderThan ? `, or updated in the last ${formatDuration(opts.olderThan)}` : ''})` : ''}` +
              `${r.failed.length ? `; ${r.failed.length} could not be removed` : ''}\n`,
          );
          return failedCode;
        }),
      ),
    );
}
