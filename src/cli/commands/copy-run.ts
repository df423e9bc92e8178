/**
 * The body of `dist copy`, loaded only when the command runs: pull, then push, in one store.
 */
import type { Command } from 'commander';
import { describeBadEntry } from '../../oci/index-entry.js';
import { connect } from '../../remote/connect.js';
import { parsePlatform } from '../../remote/platform.js';
import { JsonReporter, QuietReporter, TableReporter, type PullReporter } from '../../remote/progress.js';
import { pull } from '../../remote/pull.js';
import { parseReference } from '../../remote/reference.js';
import { interruptible, withStore } from '../context.js';
import { hashStoreOptions } from '../hash-option.js';
import type { CopyOpts } from './copy.js';
import { pushStored, settledOrFail } from './push-run.js';

export async function runCopy(src: string, dst: string, opts: CopyOpts, cmd: Command): Promise<void> {
  const reference = parseReference(src);
  parseReference(dst); // a malformed DST fails before anything is pulled
  const platform = opts.platform !== undefined ? parsePlatform(opts.platform) : undefined;
  const client = connect(reference, { plainHttp: opts.plainHttp, user: opts.srcUser });
  const controller = interruptible();
  // As `dist pull`: OpenSSL hashing (a resumed layer re-hashes its partial data).
  await settledOrFail('copy', withStore(cmd, 'write', async (store) => {
    const reporter: PullReporter = opts.json ? new JsonReporter() : process.stdout.isTTY ? new TableReporter() : new QuietReporter();
    let pulled;
    try {
      pulled = await pull({
        store, client, reference, platform, allPlatforms: opts.allPlatforms, concurrency: opts.concurrency,
        signal: controller.signal, onEvent: (e) => reporter.event(e),
      });
      reporter.finish(pulled);
    } finally {
      reporter.stop();
    }
    for (const b of pulled.badIndexEntries) process.stderr.write(`dist: warning: ${describeBadEntry(b, 'left as is')}\n`);
    await pushStored(store, pulled.name, dst, { plainHttp: opts.plainHttp, user: opts.destUser, concurrency: opts.concurrency, json: opts.json }, controller.signal);
  }, hashStoreOptions('native')));
}
