import type { Command } from 'commander';
import { Option } from 'commander';
import { writeBlob } from '../../content/write-blob.js';
import { invalidArgument, isKind } from '../../errors.js';
import { action, interruptible, withContentStore } from '../context.js';
import { formatBytes } from '../duration.js';
import { hashStoreOptions } from '../hash-option.js';
import { digestOption, durationOption, intOption } from '../options.js';
import { stdinSource } from '../stdin.js';
import { announceWaits } from '../wait-notice.js';
import type { LocalStore } from '../../local/store.js';

/** A writeBlob `protect` for an existing lease (NotFound before anything is read if it is absent). */
async function leaseProtect(store: LocalStore, id: string): Promise<(digest: string) => Promise<void>> {
  const { getLease } = await import('../../metadata/leases.js');
  const { leaseScope } = await import('../../metadata/with-lease.js');
  const { notFound } = await import('../../errors.js');
  if (!getLease(store.root, id)) throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(id)}`, { lease: id });
  const scope = leaseScope(store, id);
  return (d) => scope.protect([d]);
}

interface Opts {
  expectedDigest?: string;
  expectedSize?: number;
  wait?: boolean | number;
  hash: 'wasm' | 'native';
  lease?: string;
}

export function register(program: Command): void {
  program
    .command('ingest')
    .summary('write stdin into the store as one verified, resumable ingest')
    .description(
      'Reads stdin into the store under REF (default: the expected digest) and prints the committed digest. ' +
        'If REF already holds partial data, the ingest resumes: that many bytes of stdin are skipped. ' +
        'If another process holds REF, waits for it (saying so once when stderr is a terminal), or fails fast with --no-wait; ' +
        'if the content appears meanwhile, exits 0.\n\n' +
        'Without --expected-size or --expected-digest nothing tells a complete input from one whose producer stopped early: ' +
        'whatever stdin held is committed, and the size committed is printed on stderr. Give either to have a short input ' +
        'fail (exit 6) and stay resumable.\n\n' +
        'stdin must be a pipe or a file: a terminal is refused (exit 2), as gzip does.',
    )
    .argument('[ref]', 'ingest ref: any non-empty string up to 4096 bytes (default: the expected digest)')
    .option('--expected-digest <digest>', 'verify the content against this digest', digestOption)
    .option('--expected-size <bytes>', 'verify the content size', intOption('--expected-size'))
    .option('--wait [duration]', 'wait for a ref held by another process (default: without limit), e.g. 30s', durationOption('--wait'))
    .option('--no-wait', 'fail at once (exit 5) if another process holds the ref')
    .option('--lease <id>', 'add the blob to this lease (`dist lease create`) before it is committed or found present, so `dist gc` keeps it')
    .addOption(
      new Option(
        '--hash <engine>',
        'wasm: hash-wasm in worker threads, checkpointed so a resume re-reads nothing (the first MiB is hashed with OpenSSL and re-read); native: OpenSSL on the main thread, faster, but a resume re-hashes the partial data (through a server, the server hashes: see `dist serve --help`)',
      )
        .choices(['wasm', 'native'])
        .default('wasm'),
    )
    .addHelpText('after', '\nExamples:\n  dist ingest --expected-digest sha256:… < layer.tar\n  curl -fsS URL | dist ingest --expected-size 1234 my-download')
    .action(
      action(async (refArg: string | undefined, opts: Opts, cmd: Command) => {
        const expected = opts.expectedDigest;
        if (refArg === '') throw invalidArgument('ERR_INVALID_REF', 'REF must not be empty (omit it to use --expected-digest as the ref)', { ref: '' });
        const ref = refArg ?? expected;
        if (ref === undefined) throw invalidArgument('ERR_INVALID_REF', 'a REF or --expected-digest is required', {});
        if (process.stdin.isTTY) {
          process.stderr.write('dist: stdin is a terminal: pipe or redirect the content, e.g. dist ingest REF < FILE (see --help)\n');
          return 2;
        }
        const storeOptions = hashStoreOptions(opts.hash);
        const wait = opts.wait === false ? false : typeof opts.wait === 'number' ? opts.wait : true;
        const controller = interruptible();
        const input = stdinSource();
        controller.signal.addEventListener('abort', () => input.destroy());
        return withContentStore(
          cmd,
          'write',
          async (store, target) => {
            const quiet = wait === false ? () => {} : announceWaits(store, typeof wait === 'number' ? wait : undefined);
            try {
              // Through a server, the lease rides on every call and the server protects the blob.
              const protect = opts.lease !== undefined && target.kind === 'local' ? await leaseProtect(target.store, opts.lease) : undefined;
              const r = await writeBlob(store, ref, input, { size: opts.expectedSize, expected, wait, signal: controller.signal, protect });
              if (r.existed) process.stderr.write(`content with digest ${r.digest} already exists\n`);
              else {
                process.stdout.write(`${r.digest}\n`);
                if (opts.expectedSize === undefined && expected === undefined) {
                  const { size } = await store.info(r.digest);
                  process.stderr.write(`committed ${size} bytes (${formatBytes(size)}) unverified: no --expected-size or --expected-digest\n`);
                }
              }
            } catch (err) {
              if (controller.signal.aborted) throw controller.signal.reason;
              if (isKind(err, 'AlreadyExists')) return;
              throw err;
            } finally {
              quiet();
            }
          },
          { local: storeOptions, remote: opts.lease !== undefined ? { lease: opts.lease } : {} },
        );
      }),
    );
}
