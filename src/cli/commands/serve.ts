/**
 * `dist serve` — containerd's content API (plus leases, images, version, introspection and
 * health) over gRPC for this root: `ctr -a SOCK content …` works against it, and so does
 * `dist --address SOCK …`. One more process on the root, like any CLI: several servers and
 * CLIs may share it.
 */
import { Option, type Command } from 'commander';
import { invalidArgument } from '../../errors.js';
import { action, addressOf, checkRoot, rootOf, UsageError } from '../context.js';
import { parseDuration } from '../duration.js';
import { durationOption } from '../options.js';

interface Opts {
  config?: string;
  grace?: number;
  hash?: 'native' | 'wasm';
}

export function register(program: Command): void {
  program
    .command('serve')
    .summary("serve containerd's content API over gRPC (for ctr and `dist --address`)")
    .description(
      "Serves containerd's gRPC API for the store root on --address (a Unix socket, unix:///path.sock or /path.sock, or 127.0.0.1:PORT; " +
        'port 0 picks a free one), and prints `serving on ADDRESS` once it listens: containerd.services.content.v1 (Info, Update, List, ' +
        'Delete, Read, Status, ListStatuses, Write, Abort), leases.v1, images.v1 (the names in index.json), version.v1, ' +
        'introspection.v1 and grpc.health.v1. Each is a plugin (`dist plugins`); --config (JSON) sets plugin options and disables plugins.\n\n' +
        'The server keeps nothing that matters in memory: locks and records are on disk, so other servers and plain CLIs may use the root at the same time. ' +
        'A socket path in use by a live server is refused (exit 5); a dead server\'s socket is replaced.\n\n' +
        'SIGTERM or SIGINT: stop accepting calls, give open writes --grace to finish, then release their refs (partial data kept for a resume) and exit 0.',
    )
    .option('--config <file>', 'JSON config: root, address, grace, disabledPlugins, plugins (see README)')
    .option('--grace <duration>', 'how long open writes may run on after SIGTERM (default 10s)', durationOption('--grace'))
    .addOption(new Option('--hash <engine>', 'hashing of the local store: native (OpenSSL, default) or wasm (checkpointed hash-wasm)').choices(['native', 'wasm']))
    .addHelpText('after', '\nExamples:\n  dist --root /var/lib/dist serve --address unix:///run/dist.sock &\n  ctr -a /run/dist.sock content ls\n  dist --address unix:///run/dist.sock list')
    .action(
      action(async (opts: Opts, cmd: Command) => {
        const { readConfig } = await import('../../plugins/config.js');
        const file = opts.config !== undefined ? await readConfig(opts.config) : {};
        const given = cmd.optsWithGlobals() as { root?: string };
        const root = given.root ?? file.root ?? rootOf(cmd);
        const addressText = addressOf(cmd) ?? file.address;
        if (addressText === undefined) throw new UsageError('serve needs an address: --address, DIST_ADDRESS or the config\'s "address"');
        const grace = opts.grace ?? (file.grace !== undefined ? parseDuration(file.grace) : 10_000);
        const { parseAddress, checkListenAddress, formatAddress } = await import('../../services/address.js');
        const address = parseAddress(addressText);
        checkListenAddress(address, addressText);
        await checkRoot(root, 'write');

        const plugins = { ...(file.plugins ?? {}) };
        const local = { ...(plugins['io.containerd.content.v1.local'] ?? {}) };
        if (opts.hash) local.hash = opts.hash;
        const stale = process.env.DIST_LOCK_STALE_MS;
        if (local.staleMs === undefined && stale) {
          const ms = Number(stale);
          if (!Number.isSafeInteger(ms) || ms < 2000) throw invalidArgument('ERR_INVALID_STALE', `DIST_LOCK_STALE_MS must be an integer of at least 2000 (ms), got ${JSON.stringify(stale)}`, { actual: stale });
          local.staleMs = ms;
        }
        plugins['io.containerd.content.v1.local'] = local;

        const { startServer } = await import('../../services/server.js');
        const server = await startServer({ root, address, plugins, disabledPlugins: file.disabledPlugins });
        for (const r of server.results) {
          if (r.status === 'error') process.stderr.write(`dist: warning: plugin ${r.type}.${r.id} failed: ${r.reason}\n`);
        }
        process.stdout.write(`serving on ${formatAddress(server.address)}\n`);

        let signals = 0;
        const stop = new Promise<void>((resolve) => {
          const on = (sig: NodeJS.Signals) => {
            if (++signals > 1) {
              process.stderr.write(`dist: ${sig} again: exiting without waiting\n`);
              process.exit(1);
            }
            process.stderr.write(`dist: ${sig}: shutting down (open writes get ${grace} ms)\n`);
            resolve();
          };
          process.on('SIGTERM', on);
          process.on('SIGINT', on);
        });
        await stop;
        await server.shutdown(grace);
        return 0;
      }),
    );
}
