import type { Command } from 'commander';
import { writeBlob } from '../../content/write-blob.js';
import { parseDigest } from '../../digest.js';
import { invalidArgument, isKind } from '../../errors.js';
import { action, intOption, interruptible, withStore } from '../context.js';
import { hashStoreOptions } from '../hash-option.js';
import { stdinStream } from '../stdin.js';
import { parseDuration } from '../duration.js';

interface Opts {
  expectedDigest?: string;
  expectedSize?: number;
  wait?: boolean | string;
  hash: string;
}

export function register(program: Command): void {
  program
    .command('ingest')
    .summary('write stdin into the store as one verified, resumable ingest')
    .description(
      'Reads stdin into the store under REF (default: the expected digest). If REF already holds partial data, the ingest resumes: that many bytes of stdin are skipped. If another process holds REF, waits for it (or fails fast with --no-wait); if the content appears meanwhile, exits 0. Prints the committed digest.',
    )
    .argument('[ref]', 'ingest ref (default: the expected digest)')
    .option('--expected-digest <digest>', 'verify the content against this digest')
    .option('--expected-size <bytes>', 'verify the content size', intOption('--expected-size'))
    .option('--wait [duration]', 'wait for a ref held by another process (default: without limit), e.g. 30s')
    .option('--no-wait', 'fail at once if another process holds the ref')
    .option(
      '--hash <engine>',
      'wasm: hash-wasm in worker threads, checkpointed so a resume re-reads nothing (default); native: OpenSSL on the main thread, faster, but a resume re-hashes the partial data',
      'wasm',
    )
    .addHelpText('after', '\nExamples:\n  dist ingest --expected-digest sha256:… < layer.tar\n  curl -s URL | dist ingest --expected-size 1234 my-download')
    .action(
      action(async (refArg: string | undefined, opts: Opts, cmd: Command) => {
        const expected = opts.expectedDigest !== undefined ? parseDigest(opts.expectedDigest).digest : undefined;
        const ref = refArg ?? expected;
        if (!ref) throw invalidArgument('ERR_INVALID_REF', 'a REF or --expected-digest is required', {});
        const storeOptions = hashStoreOptions(opts.hash);
        const wait = opts.wait === false ? false : typeof opts.wait === 'string' ? parseDuration(opts.wait) : true;
        const controller = interruptible();
        const input = stdinStream();
        controller.signal.addEventListener('abort', () => input.destroy());
        return withStore(cmd, async (store) => {
          try {
            const r = await writeBlob(store, ref, input, { size: opts.expectedSize, expected, wait, signal: controller.signal });
            if (r.existed) process.stderr.write(`content with digest ${r.digest} already exists\n`);
            else process.stdout.write(`${r.digest}\n`);
          } catch (err) {
            if (controller.signal.aborted) throw controller.signal.reason;
            if (isKind(err, 'AlreadyExists')) return;
            throw err;
          }
        }, storeOptions);
      }),
    );
}
