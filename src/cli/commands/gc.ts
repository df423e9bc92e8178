/**
 * `dist gc` — removes blobs nothing references (src/metadata/gc.ts): mark from the names in
 * index.json, `containerd.io/gc.root` labels, live leases and ingests in progress; sweep what
 * is unmarked and older than --grace. Safe while pulls, adds and other collectors run.
 */
import type { Command } from 'commander';
import { action, interruptible, printJson, withStore } from '../context.js';
import { formatBytes, formatDuration } from '../duration.js';
import { durationOption } from '../options.js';

interface Opts {
  dryRun?: boolean;
  json?: boolean;
  grace?: number;
  ingestAge?: number;
}

export function register(program: Command): void {
  program
    .command('gc')
    .summary('remove blobs nothing references (and dead leases, abandoned ingests)')
    .description(
      'Marks every blob reachable from the roots — names in index.json (index → manifests → config and layers), blobs labelled ' +
        'containerd.io/gc.root, what live leases list, the expected digests of ingests in progress — following ' +
        'containerd.io/gc.ref.content* labels too; then removes unmarked blobs older than --grace (by commit time, or the last ' +
        'time an ingest found them present), leases that expired or whose process died, label records of absent blobs, and ' +
        'ingests untouched for --ingest-age. Prints what it removed and what it kept; steps are timed (--json). ' +
        'Concurrent pulls, adds and ingests under a lease are safe: they wait while the collector runs (for the seconds marking takes).',
    )
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print the report as JSON')
    .option('--grace <duration>', 'keep unreferenced blobs younger than this (default 1h)', durationOption('--grace'))
    .option('--ingest-age <duration>', 'remove ingests untouched this long (default 24h, as prune)', durationOption('--ingest-age'))
    .action(
      action(async (opts: Opts, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const { collectGarbage } = await import('../../metadata/gc.js');
          const controller = interruptible();
          const r = await collectGarbage(store, { dryRun: opts.dryRun, graceMs: opts.grace, ingestAgeMs: opts.ingestAge, signal: controller.signal });
          if (opts.json) return printJson(r);
          const verb = r.dryRun ? 'would remove' : 'removed';
          const steps = r.steps.map((s) => `${s.name} ${s.ms.toFixed(0)}ms`).join(', ');
          process.stderr.write(
            `${verb} ${r.removed.count} blob(s), ${formatBytes(r.removed.bytes)}; kept ${r.referenced} referenced (${r.keptByLeases} by leases), ` +
              `${r.keptByGrace.count} younger than ${formatDuration(opts.grace ?? 3_600_000)} (${formatBytes(r.keptByGrace.bytes)}); ` +
              `leases: ${r.leases.live} live, ${r.leases.removed.length} ${r.dryRun ? 'dead' : 'removed'}; ` +
              `${r.labelsRemoved} label record(s), ${r.ingestsRemoved} ingest(s) ${verb.replace('would remove', 'to remove')}; ${steps}\n`,
          );
          for (const d of r.removed.digests) process.stdout.write(`${d}\n`);
        }),
      ),
    );
}
