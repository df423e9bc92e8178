import { Command, Option } from 'commander';
import { verifyStore, type VerifyIssue } from '../../bulk/verify.js';
import { parseDigest } from '../../digest.js';
import { EXIT_CODES } from '../../errors.js';
import { configureDefaultEngine } from '../../hash/engine.js';
import { action, expandDash, printJson, withStore } from '../context.js';
import { formatBytes } from '../duration.js';
import { displayField } from '../escape.js';
import { countOption } from '../options.js';
import { Progress } from '../progress.js';

interface Opts {
  json?: boolean;
  deleteCorrupt?: boolean;
  hash?: 'wasm' | 'native';
  jobs?: number;
}

/** DataLoss for anything wrong with stored content; NotFound when only named digests are absent. */
export function verifyExitCode(issues: VerifyIssue[]): number {
  if (issues.some((i) => i.problem !== 'missing')) return EXIT_CODES.DataLoss;
  if (issues.length) return EXIT_CODES.NotFound;
  return 0;
}

/** One line per problem: `PROBLEM  NAME  DETAIL`, `(deleted)` last when --delete-corrupt removed it. */
function problemLine(i: VerifyIssue): string {
  const detail = i.actual !== undefined ? `content hashes to ${i.actual} (${i.size} bytes)` : i.message;
  const fate = i.quarantined ? `  (moved to ${displayField(i.quarantined)})` : i.kept === 'changed' ? '  (kept: replaced since it was hashed)' : '';
  return `${i.problem}  ${displayField(i.digest ?? i.path)}  ${displayField(detail)}${fate}\n`;
}

export function register(program: Command): void {
  program
    .command('verify')
    .summary('re-hash blobs and report corrupt, truncated or misnamed ones')
    .description(
      'Re-hashes every blob (or the DIGESTs given) in worker threads and prints one line per problem on stdout, `PROBLEM  DIGEST-or-PATH  DETAIL`, and a summary on stderr. Problems: ' +
        'corrupt (the content does not hash to the blob\'s name — including a blob cut short: the store keeps no separate size record to tell the two apart), ' +
        'truncated (the blob is empty, or shrank while it was read), misnamed (a file under blobs/ not named by a valid digest), unreadable, ' +
        'and missing (a DIGEST given is not in the store). Exits 9 (DataLoss) if any blob is bad, else 3 if a DIGEST given is missing. ' +
        '--delete-corrupt moves corrupt and truncated blobs to ROOT/quarantine/ for inspection, only if the blob is still the file that was hashed (a copy repaired meanwhile is kept); it still exits 9.',
    )
    .argument('[digest...]', 'digests to verify (default: all; - reads them from stdin)')
    .option('--json', 'print the report as JSON')
    .option('--delete-corrupt', 'move corrupt and truncated blobs out of the store, to ROOT/quarantine/')
    .addOption(new Option('--hash <mode>', 'hash implementation: native (OpenSSL; default for sha256 and sha512) or wasm (hash-wasm; blake3 always)').choices(['native', 'wasm']))
    .option('-j, --jobs <n>', 'worker threads, 1 to 256 (env DIST_JOBS, default: available parallelism)', countOption('--jobs', 256))
    .addHelpText('after', '\nExamples:\n  dist verify\n  dist verify --json sha256:…')
    .action(
      action(async (args: string[], opts: Opts, cmd: Command) => {
        const digests = args.length ? (await expandDash(args)).map((d) => parseDigest(d).digest) : undefined;
        if (opts.jobs !== undefined) configureDefaultEngine({ threads: opts.jobs });
        return withStore(cmd, 'read', async (store) => {
          const progress = new Progress('verify');
          const report = await verifyStore(store, {
            digests,
            deleteCorrupt: opts.deleteCorrupt,
            hash: opts.hash ?? 'auto',
            onProgress: (p) => progress.set({ ...p, totalsFinal: true }),
          });
          progress.stop();
          const ms = progress.elapsedMs;
          if (opts.json) printJson(report);
          else for (const i of report.issues) process.stdout.write(problemLine(i));
          process.stderr.write(
            `verified ${report.checked} blob(s), ${formatBytes(report.bytes)}: ${report.ok} ok, ${report.issues.length} problem(s); ` +
              `${(ms / 1000).toFixed(2)}s, ${formatBytes(ms > 0 ? (report.bytes * 1000) / ms : 0)}/s\n`,
          );
          return verifyExitCode(report.issues);
        });
      }),
    );
}
