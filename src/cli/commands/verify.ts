import { Command, Option } from 'commander';
import { verifyStore, type VerifyIssue } from '../../bulk/verify.js';
import { parseDigest } from '../../digest.js';
import { EXIT_CODES } from '../../errors.js';
import { configureDefaultEngine } from '../../hash/engine.js';
import { action, expandDash, intOption, printJson, withStore } from '../context.js';
import { formatBytes } from '../duration.js';
import { mbPerSec, Progress } from '../progress.js';

interface Opts {
  json?: boolean;
  deleteCorrupt?: boolean;
  hash: 'auto' | 'wasm' | 'native';
  jobs?: number;
}

/** DataLoss for anything wrong with stored content; NotFound when only named digests are absent. */
export function verifyExitCode(issues: VerifyIssue[]): number {
  if (issues.some((i) => i.problem !== 'missing')) return EXIT_CODES.DataLoss;
  if (issues.length) return EXIT_CODES.NotFound;
  return 0;
}

export function register(program: Command): void {
  program
    .command('verify')
    .summary('re-hash blobs and report corrupt, truncated or misnamed ones')
    .description(
      'Re-hashes every blob (or the DIGESTs given) in worker threads and reports blobs whose content does not match their name (corrupt, truncated), files under blobs/ that are not named by a valid digest (misnamed) and unreadable blobs. Exits 9 (DataLoss) if any, 3 if a named digest is absent. --delete-corrupt moves corrupt and truncated blobs to ROOT/quarantine/ for inspection, only if the blob is still the file that was hashed (a copy repaired meanwhile is kept); it still exits 9.',
    )
    .argument('[digest...]', 'digests to verify (default: all; - reads them from stdin)')
    .option('--json', 'print the report as JSON')
    .option('--delete-corrupt', 'move corrupt and truncated blobs out of the store, to ROOT/quarantine/')
    .addOption(new Option('--hash <mode>', 'hash implementation: native (node:crypto) or wasm (hash-wasm)').choices(['auto', 'wasm', 'native']).default('auto'))
    .option('-j, --jobs <n>', 'worker threads (env DIST_JOBS, default: available parallelism)', intOption('--jobs'))
    .addHelpText('after', '\nExamples:\n  dist verify\n  dist verify --json sha256:…')
    .action(
      action(async (args: string[], opts: Opts, cmd: Command) => {
        const digests = args.length ? (await expandDash(args)).map((d) => parseDigest(d).digest) : undefined;
        if (opts.jobs !== undefined) configureDefaultEngine({ threads: opts.jobs });
        return withStore(cmd, async (store) => {
          const progress = new Progress('verify');
          const report = await verifyStore(store, {
            digests,
            deleteCorrupt: opts.deleteCorrupt,
            hash: opts.hash,
            onProgress: (p) => progress.set({ ...p, totalsFinal: true }),
          });
          progress.clear();
          const ms = progress.elapsedMs;
          if (opts.json) printJson(report);
          else {
            for (const i of report.issues) {
              const fate = i.quarantined ? `  (moved to ${i.quarantined})` : i.kept === 'changed' ? '  (kept: replaced since it was hashed)' : '';
              process.stdout.write(`${i.problem}  ${i.digest ?? i.path}${fate}\n`);
              process.stderr.write(`dist: ${i.message}\n`);
            }
          }
          process.stderr.write(
            `verified ${report.checked} blob(s), ${formatBytes(report.bytes)}: ${report.ok} ok, ${report.issues.length} problem(s); ` +
              `${(ms / 1000).toFixed(2)}s, ${mbPerSec(report.bytes, ms)} MB/s\n`,
          );
          return verifyExitCode(report.issues);
        });
      }),
    );
}
