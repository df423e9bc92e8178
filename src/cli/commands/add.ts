import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import type { SkipReason } from '../../bulk/enumerate.js';
import { ingestFiles, type IngestedFile, type IngestFilesOptions } from '../../bulk/ingest.js';
import { failedPrecondition, notFound, type ContentError } from '../../errors.js';
import type { LocalStore } from '../../local/store.js';
import { configureDefaultEngine } from '../../hash/engine.js';
import { action, reportError, withStore } from '../context.js';
import { formatBytes } from '../duration.js';
import { displayField } from '../escape.js';
import { algorithmOption, countOption } from '../options.js';
import { Progress } from '../progress.js';
import type { Algorithm } from '../../digest.js';

interface Opts {
  recursive?: boolean;
  dereference?: boolean;
  json?: boolean;
  hash?: 'wasm' | 'native';
  algorithm: Algorithm;
  jobs?: number;
  lease?: string;
}

/** Paths from the arguments; `-` stands for the lines of stdin (one path per line). */
async function* pathsOf(args: string[]): AsyncGenerator<string> {
  for (const a of args) {
    if (a !== '-') {
      yield a;
      continue;
    }
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) if (line) yield line;
  }
}

/** One NDJSON line (--json): scripts see each file as it lands, not after the whole run. */
/**
 * `--lease`: blobs are put in the lease in batches, each in one read section of the collector
 * together with a check that they are still there; one a collector removed between its commit
 * and the batch is added again. From the check on, every blob is kept by the lease.
 */
async function leaseBatcher(store: LocalStore, id: string, ingestOptions: IngestFilesOptions) {
  const { getLease, addResources, CONTENT } = await import('../../metadata/leases.js');
  const { readSection } = await import('../../metadata/gc-lock.js');
  if (!getLease(store.root, id)) throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(id)}`, { lease: id });
  let pending: IngestedFile[] = [];
  const protect = (files: IngestedFile[]) =>
    readSection(store.trust, { lock: store.lockOptions }, async () => {
      await addResources(store.trust, id, files.map((f) => ({ type: CONTENT, id: f.digest })));
      const gone: IngestedFile[] = [];
      for (const f of files) if (!(await store.exists(f.digest))) gone.push(f);
      return gone;
    });
  const flush = async () => {
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    const gone = await protect(batch);
    if (!gone.length) return;
    const again: IngestedFile[] = [];
    for await (const r of ingestFiles(store, gone.map((f) => f.path), ingestOptions)) again.push(r);
    const still = await protect(again);
    for (const f of still) throw failedPrecondition('ERR_BLOB_VANISHED', `${f.digest} (${f.path}) was removed again while being added to lease ${JSON.stringify(id)}`, { digest: f.digest });
  };
  return {
    add: async (r: IngestedFile) => {
      pending.push(r);
      if (pending.length >= 256) await flush();
    },
    flush,
  };
}

function emit(record: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(record) + '\n');
}

export function register(program: Command): void {
  program
    .command('add')
    .summary('add local files to the store (in parallel, whole files per worker)')
    .description(
      'Adds each FILE (each file under DIR with -r) as a blob: worker threads read, hash, write and commit whole files. ' +
        'Prints `DIGEST  PATH` per file as it completes, or with --json one JSON object per line as files land ' +
        '({"type":"file"|"skipped"|"error",…}) and a last {"type":"summary",…} line; a summary on stderr, and a progress bar ' +
        'on stderr when it is a terminal. Identical files are stored once.\n\n' +
        'Symlinks: a PATH named on the command line (or on stdin) is followed; inside directories symlinks are skipped ' +
        '(like cp -R and tar) and counted in the summary, unless -L follows them (to files and directories; a loop is skipped). ' +
        'Sockets, FIFOs and devices inside directories are skipped too.\n\n' +
        'A file that cannot be added is reported and the rest go on; the exit code is then the first failure\'s.',
    )
    .argument('<path...>', 'files or directories (- reads paths from stdin, one per line)')
    .option('-r, --recursive', 'add the files under directories')
    .option('-L, --dereference', 'follow symlinks inside directories')
    .option('--json', 'one JSON object per line (NDJSON): each file, skipped entry and error, then a summary')
    .addOption(new Option('--hash <mode>', 'hash implementation: native (OpenSSL; default for sha256 and sha512) or wasm (hash-wasm; blake3 always)').choices(['native', 'wasm']))
    .option('-a, --algorithm <alg>', 'digest algorithm: sha256, sha512, blake3', algorithmOption, 'sha256')
    .option('-j, --jobs <n>', 'worker threads, 1 to 256 (env DIST_JOBS, default: available parallelism)', countOption('--jobs', 256))
    .option('--lease <id>', 'add every blob to this lease (`dist lease create`), so `dist gc` keeps them')
    .addHelpText('after', '\nExamples:\n  dist add -r ./layers\n  find . -name "*.tar" | dist add -\n  dist add -r --json ./layers | jq -c \'select(.type == "file")\'')
    .action(
      action(async (args: string[], opts: Opts, cmd: Command) => {
        if (opts.jobs !== undefined) configureDefaultEngine({ threads: opts.jobs });
        return withStore(cmd, 'write', async (store) => {
          const progress = new Progress('add');
          let code = 0;
          let files = 0;
          let bytes = 0;
          let fresh = 0;
          let errors = 0;
          const skipped: Record<SkipReason, number> = { symlink: 0, special: 0, cycle: 0 };
          const onError = (path: string, err: ContentError) => {
            errors++;
            if (opts.json) emit({ type: 'error', path, kind: err.kind, code: err.code, message: err.message });
            progress.printErr(() => (code ||= reportError(err)));
          };
          const onSkipped = (path: string, reason: SkipReason) => {
            skipped[reason]++;
            if (opts.json) emit({ type: 'skipped', path, reason });
          };
          const ingestOptions = {
            recursive: opts.recursive,
            followSymlinks: opts.dereference,
            hash: opts.hash ?? ('auto' as const),
            algorithm: opts.algorithm,
            onError,
            onSkipped,
          };
          const leased = opts.lease !== undefined ? await leaseBatcher(store, opts.lease, ingestOptions) : undefined;
          for await (const r of ingestFiles(store, pathsOf(args), {
            ...ingestOptions,
            onFound: (_p, size) => progress.found(size),
            onEnumerated: () => progress.finalTotals(),
          })) {
            await leased?.add(r);
            files++;
            bytes += r.size;
            if (!r.existed) fresh++;
            progress.done(r.size);
            if (opts.json) emit({ type: 'file', ...r });
            else progress.print(`${r.digest}  ${displayField(r.path)}\n`);
          }
          await leased?.flush();
          progress.stop();
          const ms = progress.elapsedMs;
          const rate = ms > 0 ? (bytes * 1000) / ms : 0;
          const skips = skipped.symlink + skipped.special + skipped.cycle;
          if (opts.json) {
            emit({ type: 'summary', files, bytes, new: fresh, existed: files - fresh, errors, skipped, seconds: ms / 1000, bytesPerSecond: Math.round(rate) });
          }
          const skipText = skips
            ? `; skipped ${[
                skipped.symlink && `${skipped.symlink} symlink(s) (-L follows them)`,
                skipped.special && `${skipped.special} socket(s)/FIFO(s)/device(s)`,
                skipped.cycle && `${skipped.cycle} directory loop(s)`,
              ]
                .filter(Boolean)
                .join(', ')}`
            : '';
          process.stderr.write(
            `added ${files} file(s), ${formatBytes(bytes)}: ${fresh} new, ${files - fresh} already present${skipText}` +
              `${errors ? `; ${errors} failed` : ''}; ${(ms / 1000).toFixed(2)}s, ${formatBytes(rate)}/s\n`,
          );
          return code;
        });
      }),
    );
}
