/**
 * `dist snapshots [--snapshotter naive|overlay] ls|rm|mounts|usage` — inspect and remove
 * snapshots (every process on the root sees the same ones).
 */
import type { Command } from 'commander';
import { isKind } from '../../errors.js';
import type { Info } from '../../snapshots/types.js';
import { action, printJson, table } from '../context.js';
import { formatBytes } from '../duration.js';
import { SNAPSHOTTER_HELP, snapshotterOf } from '../snapshotter-option.js';

const infoJson = (i: Info) => ({ ...i, parent: i.parent ?? null, createdAt: i.createdAt.toISOString(), updatedAt: i.updatedAt.toISOString() });

export function register(program: Command): void {
  const snapshots = program
    .command('snapshots')
    .summary('list, inspect and remove snapshots')
    .option('--snapshotter <driver>', SNAPSHOTTER_HELP);

  snapshots
    .command('ls')
    .summary('list snapshots: KEY PARENT KIND')
    .option('--filter <filter...>', 'containerd filters, e.g. kind==committed, parent==KEY, labels."a.b"==c (any of several)')
    .option('--json', 'JSON array output')
    .action(
      action(async (opts: { filter?: string[]; json?: boolean }, cmd: Command) => {
        const sn = await snapshotterOf(cmd);
        const all: Info[] = [];
        await sn.walk((i) => void all.push(i), ...(opts.filter ?? []));
        if (opts.json) return printJson(all.map(infoJson));
        process.stdout.write(table([['KEY', 'PARENT', 'KIND'], ...all.map((i) => [i.name, i.parent ?? '', i.kind])]));
      }),
    );

  snapshots
    .command('rm')
    .summary('remove snapshots (a bundle\'s rootfs mount is unmounted first)')
    .argument('<key...>', 'snapshot keys or names')
    .action(
      action(async (keys: string[], _opts: unknown, cmd: Command) => {
        const sn = await snapshotterOf(cmd);
        const [{ LABEL_BUNDLE_ROOTFS }, { isMountPoint, unmount }] = await Promise.all([import('../../snapshots/bundle.js'), import('../../snapshots/mount.js')]);
        for (const key of keys) {
          const info = await sn.stat(key);
          const target = info.labels[LABEL_BUNDLE_ROOTFS];
          if (target && (await isMountPoint(target))) await unmount(target);
          await sn.remove(key);
        }
      }),
    );

  snapshots
    .command('mounts')
    .summary('print the mount command that presents an active snapshot or view at TARGET')
    .argument('<key>', 'active or view snapshot')
    .argument('[target]', 'mount point to print in the command', '<target>')
    .option('--json', 'the mounts as JSON')
    .action(
      action(async (key: string, target: string, opts: { json?: boolean }, cmd: Command) => {
        const sn = await snapshotterOf(cmd);
        const mounts = await sn.mounts(key);
        if (opts.json) return printJson(mounts);
        for (const m of mounts) {
          const line = m.type === 'bind' ? `mount --bind${m.options.includes('ro') ? ' -o ro' : ''} ${m.source} ${target}` : `mount -t ${m.type} ${m.source} -o ${m.options.join(',')} ${target}`;
          process.stdout.write(`${line}\n`);
        }
      }),
    );

  snapshots
    .command('usage')
    .summary('disk usage of snapshots (all when no key is given)')
    .argument('[key...]', 'snapshot keys or names')
    .option('--json', 'JSON output')
    .action(
      action(async (keys: string[], opts: { json?: boolean }, cmd: Command) => {
        const sn = await snapshotterOf(cmd);
        if (keys.length === 0) await sn.walk((i) => void keys.push(i.name));
        const rows = [];
        for (const key of keys) {
          try {
            rows.push({ key, ...(await sn.usage(key)) });
          } catch (err) {
            if (!isKind(err, 'NotFound')) throw err; // removed meanwhile
          }
        }
        if (opts.json) return printJson(rows);
        process.stdout.write(table([['KEY', 'SIZE', 'INODES'], ...rows.map((r) => [r.key, formatBytes(r.size), String(r.inodes)])]));
      }),
    );
}
