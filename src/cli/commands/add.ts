import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { ingestFiles, type IngestedFile } from '../../bulk/ingest.js';
import { parseAlgorithm } from '../../digest.js';
import type { ContentError } from '../../errors.js';
import { configureDefaultEngine } from '../../hash/engine.js';
import { action, intOption, printJson, reportError, withStore } from '../context.js';
import { formatBytes } from '../duration.js';
import { mbPerSec, Progress } from '../progress.js';

interface Opts {
  recursive?: boolean;
  json?: boolean;
  hash: 'auto' | 'wasm' | 'native';
  algorithm: string;
  jobs?: number;
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

export function register(program: Command): void {
  program
    .command('add')
    .summary('add local files to the store (in parallel, whole files per worker)')
    .description(
      'Adds each FILE (each file under DIR with -r) as a blob: worker threads read, hash, write and commit whole files. Prints `DIGEST  PATH` per file as it completes (or one JSON document with --json) and a summary on stderr; a progress bar on stderr when it is a terminal. Identical files are stored once. Exits with the first failing file\'s code.',
    )
    .argument('<path...>', 'files or directories (- reads paths from stdin, one per line)')
    .option('-r, --recursive', 'add the files under directories')
    .option('--json', 'print the results as JSON')
    .addOption(new Option('--hash <mode>', 'hash implementation: native (node:crypto) or wasm (hash-wasm)').choices(['auto', 'wasm', 'native']).default('auto'))
    .option('-a, --algorithm <alg>', 'digest algorithm: sha256, sha512, blake3', 'sha256')
    .option('-j, --jobs <n>', 'worker threads (env DIST_JOBS, default: available parallelism)', intOption('--jobs'))
    .addHelpText('after', '\nExamples:\n  dist add -r ./layers\n  find . -name "*.tar" | dist add -')
    .action(
      action(async (args: string[], opts: Opts, cmd: Command) => {
        const algorithm = parseAlgorithm(opts.algorithm);
        if (opts.jobs !== undefined) configureDefaultEngine({ threads: opts.jobs });
        return withStore(cmd, async (store) => {
          const progress = new Progress('add');
          const results: IngestedFile[] = [];
          let code = 0;
          let files = 0;
          let bytes = 0;
          let fresh = 0;
          const onError = (_path: string, err: ContentError) => {
            progress.clear();
            const c = reportError(err);
            code ||= c;
          };
          for await (const r of ingestFiles(store, pathsOf(args), {
            recursive: opts.recursive,
            hash: opts.hash,
            algorithm,
            onError,
            onFound: (_p, size) => progress.found(size),
            onEnumerated: () => progress.finalTotals(),
          })) {
            files++;
            bytes += r.size;
            if (!r.existed) fresh++;
            progress.done(r.size);
            if (opts.json) results.push(r);
            else {
              progress.clear();
              process.stdout.write(`${r.digest}  ${r.path}\n`);
            }
          }
          progress.clear();
          const ms = progress.elapsedMs;
          const summary = { files, bytes, new: fresh, existed: files - fresh, seconds: ms / 1000, mbPerSec: Number(mbPerSec(bytes, ms)) || 0 };
          if (opts.json) printJson({ files: results, summary });
          process.stderr.write(
            `added ${files} file(s), ${formatBytes(bytes)}: ${fresh} new, ${files - fresh} already present; ` +
              `${(ms / 1000).toFixed(2)}s, ${mbPerSec(bytes, ms)} MB/s\n`,
          );
          return code;
        });
      }),
    );
}
