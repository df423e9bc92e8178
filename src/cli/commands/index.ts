/**
 * The command registry: each command lives in its own file and exports
 * `register(program)`. Adding a command is one line here: its names (aliases included,
 * exactly as its file registers them) and its loader.
 *
 * Commands are loaded on demand: a process that runs one command loads only that
 * command's module and what it imports (issue 15: every `dist` process pays its start-up
 * before any work, and the seed runs one process per blob). The order here is the order
 * of `dist --help`. test/cli-startup.test.ts checks the names against what the modules
 * register.
 */
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

export interface CommandEntry {
  /** The command's name, then its aliases. */
  names: readonly string[];
  load(): Promise<CommandModule>;
}

export const commands: readonly CommandEntry[] = [
  { names: ['ingest'], load: () => import('./ingest.js') },
  { names: ['list', 'ls'], load: () => import('./list.js') },
  { names: ['info'], load: () => import('./info.js') },
  { names: ['path'], load: () => import('./path.js') },
  { names: ['cat'], load: () => import('./cat.js') },
  { names: ['delete', 'rm'], load: () => import('./delete.js') },
  { names: ['active'], load: () => import('./active.js') },
  { names: ['abort'], load: () => import('./abort.js') },
  { names: ['prune'], load: () => import('./prune.js') },
  { names: ['add'], load: () => import('./add.js') },
  { names: ['verify'], load: () => import('./verify.js') },
  { names: ['fetch'], load: () => import('./fetch.js') },
  { names: ['pull'], load: () => import('./pull.js') },
  { names: ['push'], load: () => import('./push.js') },
  { names: ['copy'], load: () => import('./copy.js') },
  { names: ['images'], load: () => import('./images.js') },
  { names: ['apply'], load: () => import('./apply.js') },
  { names: ['unpack'], load: () => import('./unpack.js') },
  { names: ['bundle'], load: () => import('./bundle.js') },
  { names: ['snapshots'], load: () => import('./snapshots.js') },
  { names: ['label'], load: () => import('./label.js') },
  { names: ['lease'], load: () => import('./lease.js') },
  { names: ['gc'], load: () => import('./gc.js') },
  { names: ['serve'], load: () => import('./serve.js') },
  { names: ['plugins'], load: () => import('./plugins.js') },
];

/**
 * The one command `argv` (operands after `node main.js`) runs, when that can be told
 * without commander: the first operand, past the program's own `--root <dir>` and
 * `--address <addr>`, names a command. Anything else — no operand, `help`, an unknown
 * name, another option before the command (-h, -V, a typo) — is undefined: the caller then registers
 * every command, so help, version and error messages are exactly commander's.
 */
export function commandFor(argv: readonly string[]): CommandEntry | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--address') {
      i++;
      continue;
    }
    if (a.startsWith('--root=') || a.startsWith('--address=')) continue;
    if (a.startsWith('-')) return undefined;
    return commands.find((c) => c.names.includes(a));
  }
  return undefined;
}
