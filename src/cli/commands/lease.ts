/**
 * `dist lease create|ls|rm|resources` — leases protect blobs from `dist gc` while they live
 * (src/metadata/leases.ts). A lease made here lives until `lease rm` or its --expire; pass
 * its id to `ingest --lease`, `add --lease`, `pull --lease`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { action, printJson, reportError, table, withStore } from '../context.js';
import { formatDuration } from '../duration.js';
import { durationOption, nonEmptyOption } from '../options.js';

function labelOption(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--label must be KEY=VALUE, got ${JSON.stringify(value)}`);
  return { ...prev, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function register(program: Command): void {
  const lease = program
    .command('lease')
    .summary('create, list and remove leases (what protects blobs from `dist gc`)')
    .description(
      'A lease protects the blobs (and ingest refs) it lists from `dist gc` while it lives: until `dist lease rm`, until it expires (--expire), ' +
        'or — for the leases `dist pull` makes for itself — until its process exits. Blobs join a lease through `ingest --lease ID`, ' +
        '`add --lease ID`, `pull --lease ID`.',
    );

  lease
    .command('create')
    .summary('create a lease and print its id')
    .option('--id <id>', 'the lease id (default: a generated one)', nonEmptyOption('--id'))
    .option('--expire <duration>', 'expire after this long (e.g. 1h); default: never', durationOption('--expire', 1))
    .option('--label <key=value>', 'a label (repeatable)', labelOption)
    .option('--json', 'print the lease as JSON')
    .action(
      action(async (opts: { id?: string; expire?: number; label?: Record<string, string>; json?: boolean }, cmd: Command) =>
        withStore(cmd, 'write', async (store) => {
          const { createLease } = await import('../../metadata/leases.js');
          const l = await createLease(store.trust, { id: opts.id, expireMs: opts.expire, labels: opts.label });
          if (opts.json) printJson(l);
          else process.stdout.write(`${l.id}\n`);
        }),
      ),
    );

  lease
    .command('ls')
    .alias('list')
    .summary('list leases: ID CREATED EXPIRES RESOURCES STATE')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const { listLeases, listResources, leaseLive } = await import('../../metadata/leases.js');
          const now = Date.now();
          const rows = [];
          for (const l of await listLeases(store.root)) {
            const resources = await listResources(store.root, l.id).catch(() => []);
            rows.push({ ...l, resources: resources.length, state: leaseLive(l, now) ? 'live' : l.expiresAt && l.expiresAt.getTime() <= now ? 'expired' : 'dead' });
          }
          if (opts.json) return printJson(rows);
          process.stdout.write(
            table([
              ['ID', 'CREATED', 'EXPIRES', 'RESOURCES', 'STATE'],
              ...rows.map((r) => [
                r.id,
                formatDuration(now - r.createdAt.getTime()),
                r.expiresAt ? (r.expiresAt.getTime() > now ? `in ${formatDuration(r.expiresAt.getTime() - now)}` : 'expired') : r.owner ? `with pid ${r.owner.pid}` : 'never',
                String(r.resources),
                r.state,
              ]),
            ]),
          );
        }),
      ),
    );

  lease
    .command('rm')
    .alias('delete')
    .summary('remove leases (what they listed loses their protection)')
    .argument('<id...>', 'lease ids')
    .action(
      action(async (ids: string[], _opts: object, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const { deleteLease } = await import('../../metadata/leases.js');
          let code = 0;
          for (const id of ids) {
            try {
              await deleteLease(store.root, id);
            } catch (err) {
              code = reportError(err);
            }
          }
          return code;
        }),
      ),
    );

  lease
    .command('resources')
    .summary('list what a lease protects: TYPE ID')
    .argument('<id>', 'lease id')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        withStore(cmd, 'read', async (store) => {
          const { listResources } = await import('../../metadata/leases.js');
          const res = await listResources(store.root, id);
          if (opts.json) return printJson(res);
          if (res.length) process.stdout.write(table([['TYPE', 'ID'], ...res.map((r) => [r.type, r.id])]));
        }),
      ),
    );
}
