/**
 * The body of `dist push`, loaded only when the command runs (as pull-run.ts).
 */
import type { Command } from 'commander';
import { connect } from '../../remote/connect.js';
import { JsonReporter, pushOutcome, QuietReporter, TableReporter, type Reporter } from '../../remote/progress.js';
import { push, type PushResult } from '../../remote/push.js';
import { planPush } from '../../remote/push-target.js';
import { UploadRecords } from '../../remote/upload-record.js';
import type { LocalStore } from '../../local/store.js';
import { interruptible, withStore } from '../context.js';
import type { PushOpts } from './push.js';

export function pushReporter(json: boolean | undefined): Reporter<PushResult> {
  if (json) return new JsonReporter(process.stdout, pushOutcome);
  return process.stdout.isTTY ? new TableReporter(process.stdout, pushOutcome) : new QuietReporter(process.stdout, pushOutcome);
}

/** Pushes the stored image `name` to `remote` (default: its own name) with the CLI's options. */
export async function pushStored(store: LocalStore, name: string, remote: string | undefined, opts: PushOpts, signal: AbortSignal): Promise<PushResult> {
  const plan = await planPush(store, name, remote);
  const client = connect(plan.destination, opts);
  const reporter = pushReporter(opts.json);
  try {
    const result = await push({
      store,
      client,
      top: plan.top,
      source: plan.source,
      destination: plan.destination,
      mountFrom: plan.mountFrom,
      records: new UploadRecords(store.root, store.trust, store.lockOptions),
      concurrency: opts.concurrency,
      signal,
      onEvent: (e) => reporter.event(e),
    });
    reporter.finish(result);
    return result;
  } finally {
    reporter.stop();
  }
}

/**
 * A safety net: if the event loop ever empties while `work` is unsettled (a promise nothing
 * will settle — a bug), Node would exit 0 as if the push had succeeded. Make that exit 1.
 */
export async function settledOrFail<T>(what: string, work: Promise<T>): Promise<T> {
  const guard = () => {
    process.stderr.write(`dist: internal error: ${what} stopped before it finished\n`);
    process.exitCode = 1;
  };
  process.once('beforeExit', guard);
  try {
    return await work;
  } finally {
    process.off('beforeExit', guard);
  }
}

export async function runPush(name: string, remote: string | undefined, opts: PushOpts, cmd: Command): Promise<void> {
  const controller = interruptible();
  await settledOrFail('push', withStore(cmd, 'read', (store) => pushStored(store, name, remote, opts, controller.signal)));
}
