/**
 * `dist plugins` — the plugins and their status, as `ctr plugins ls` shows a daemon's:
 * TYPE ID PLATFORMS STATUS (ok, skip, error, disabled). With --address, the server's (its
 * introspection service); without, what `dist serve` would build here (with --config).
 */
import type { Command } from 'commander';
import { action, addressOf, checkRoot, printJson, rootOf, table } from '../context.js';

interface Row {
  type: string;
  id: string;
  requires: string[];
  capabilities: string[];
  exports: Record<string, string>;
  status: 'ok' | 'skip' | 'error' | 'disabled';
  reason?: string;
}

function statusOf(ok: boolean, reason: string | undefined): Row['status'] {
  if (ok) return 'ok';
  if (reason?.includes('disabled by the config')) return 'disabled';
  return reason?.includes('skip plugin') ? 'skip' : 'error';
}

export function register(program: Command): void {
  program
    .command('plugins')
    .summary('list the server plugins (content stores, services) and their status')
    .description(
      'Lists plugins as `ctr plugins ls` does: TYPE, ID, PLATFORMS and STATUS (ok, skip: does not apply here, error: failed to start, disabled: by the config). ' +
        'With --address, those of the server there; otherwise those `dist serve` would build on this root (with --config). -d adds what each requires, exports, and why it is not ok.',
    )
    .option('--config <file>', 'the JSON config `dist serve` would use')
    .option('-d, --detailed', 'show requirements, exports and reasons')
    .option('-q, --quiet', 'print the ids only')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { config?: string; detailed?: boolean; quiet?: boolean; json?: boolean }, cmd: Command) => {
        let rows: Row[];
        const address = addressOf(cmd);
        if (address !== undefined) {
          const { openRemoteStore } = await import('../../remote-store/store.js');
          const { remotePlugins } = await import('../../remote-store/images.js');
          const store = await openRemoteStore(address);
          try {
            rows = (await remotePlugins(store)).map((p) => ({
              type: p.type ?? '',
              id: p.id ?? '',
              requires: p.requires ?? [],
              capabilities: p.capabilities ?? [],
              exports: p.exports ?? {},
              status: statusOf(!p.initErr, p.initErr?.message),
              ...(p.initErr?.message ? { reason: p.initErr.message } : {}),
            }));
          } finally {
            await store.close();
          }
        } else {
          const { readConfig } = await import('../../plugins/config.js');
          const { builtinRegistry } = await import('../../plugins/builtin.js');
          const file = opts.config !== undefined ? await readConfig(opts.config) : {};
          const root = (cmd.optsWithGlobals() as { root?: string }).root ?? file.root ?? rootOf(cmd);
          await checkRoot(root, 'read');
          const registry = builtinRegistry();
          const results = await registry.initAll({ root, address: file.address ?? '', plugins: file.plugins, disabled: file.disabledPlugins });
          await registry.closeAll(results);
          rows = results.map((r) => ({
            type: r.type,
            id: r.id,
            requires: r.requires,
            capabilities: r.capabilities,
            exports: r.exports,
            status: r.status === 'skipped' ? 'skip' : r.status,
            ...(r.reason ? { reason: r.reason } : {}),
          }));
        }
        if (opts.json) return printJson(rows);
        if (opts.quiet) return void process.stdout.write(rows.map((r) => `${r.id}\n`).join(''));
        if (!opts.detailed) return void process.stdout.write(table([['TYPE', 'ID', 'PLATFORMS', 'STATUS'], ...rows.map((r) => [r.type, r.id, '-', r.status])]));
        const out: string[] = [];
        for (const r of rows) {
          out.push(`Type:     ${r.type}`, `ID:       ${r.id}`, `Status:   ${r.status}`);
          if (r.requires.length) out.push(`Requires: ${r.requires.join(', ')}`);
          for (const [k, v] of Object.entries(r.exports)) out.push(`Export:   ${k}=${v}`);
          if (r.reason) out.push(`Reason:   ${r.reason}`);
          out.push('');
        }
        process.stdout.write(out.join('\n'));
      }),
    );
}
