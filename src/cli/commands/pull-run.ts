/**
 * The body of `dist pull`, loaded only when the command runs (the remote stack is ~15 ms
 * of imports that every other command would otherwise pay at start-up).
 */
import type { Command } from 'commander';
import { describeBadEntry } from '../../oci/index-entry.js';
import { connect } from '../../remote/connect.js';
import { parsePlatform } from '../../remote/platform.js';
import { JsonReporter, QuietReporter, TableReporter, type PullReporter } from '../../remote/progress.js';
import { pull } from '../../remote/pull.js';
import { parseReference } from '../../remote/reference.js';
import { interruptible, withStore } from '../context.js';
import { withLease } from '../../metadata/with-lease.js';
import { hashStoreOptions } from '../hash-option.js';
import type { PullOpts as Opts } from './pull.js';

export async function runPull(name: string, opts: Opts, cmd: Command): Promise<void> {
    const storeOptions = hashStoreOptions(opts.hash);
    const reference = parseReference(name);
    const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
    const client = connect(reference, opts);
    const reporter: PullReporter = opts.json ? new JsonReporter() : process.stdout.isTTY ? new TableReporter() : new QuietReporter();
    const controller = interruptible();
    await withStore(cmd, 'write', async (store) => {
      try {
        // Every blob is in a lease from before it is checked or written until the name is
        // recorded: `dist gc` never removes a layer this pull relies on.
        const result = await withLease(
          store,
          (lease) =>
            pull({
              store,
              client,
              reference,
              platform,
              allPlatforms: opts.allPlatforms,
              concurrency: opts.concurrency,
              signal: controller.signal,
              onEvent: (e) => reporter.event(e),
              protect: (ds) => lease.protect(ds),
            }),
          { existing: opts.lease, labels: { 'containerkit.dev/pull': name } },
        );
        reporter.finish(result);
        for (const b of result.badIndexEntries) process.stderr.write(`dist: warning: ${describeBadEntry(b, 'left as is')}\n`);
      } finally {
        reporter.stop();
      }
    }, storeOptions);
}
