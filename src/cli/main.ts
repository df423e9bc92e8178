#!/usr/bin/env node
/**
 * `dist`: the command line over the content store. Exit codes are the error kinds'
 * (src/errors.ts EXIT_CODES); 2 is a usage error.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT_CODES } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { commandFor, commands } from './commands/index.js';
import { DEFAULT_ROOT } from './context.js';
import { nonEmptyOption } from './options.js';

const exitHelp = `
Exit codes:
  0    success (also: content already exists)
  1    internal error
  2    usage error: unknown command or option, missing argument, or a malformed option
       value (number, duration, choice, digest, algorithm)
${Object.entries(EXIT_CODES)
  .filter(([k]) => k !== 'Internal')
  .map(([k, v]) => `  ${String(v).padEnd(4)} ${k}`)
  .join('\n')}

Store root:
  --root, else $DIST_ROOT (empty means unset), else ${DEFAULT_ROOT}. Commands that write
  (ingest, add, pull) create it; every other command fails with NotFound (3) if it is missing.

Output:
  Tables and lines for people escape control characters in refs, paths and names (\\x1b,
  \\n…; such a field is quoted); --json output carries them exactly. Sizes and rates are
  binary (KiB, MiB/s).

Server:
  --address, else $DIST_ADDRESS (empty means unset): ingest, list, info, cat, delete,
  active, abort, label and images then work through that server's content API (\`dist
  serve\`, or any server speaking containerd's); other commands refuse it (exit 2).

Environment:
  DIST_ROOT      store root (default ${DEFAULT_ROOT})
  DIST_ADDRESS   server address (see Server)
  DIST_JOBS      hashing worker threads (default: available parallelism)
  DIST_LOCK_STALE_MS
                 heartbeat age (ms) after which a ref held on another host is taken
                 over (default 10000; a holder alive on this host is never taken over)
  DIST_PROGRESS  1 forces the progress bar on, 0 off (default: on when stderr is a terminal)
  DIST_DEBUG     print stack traces on error`;

/**
 * The program with the commands `argv` needs: only the one it names when that is clear
 * (see commandFor), else all of them (help, version, usage errors).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('dist')
    .description('containerkit: a daemonless content-addressable blob store')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--root <dir>', `store root (env DIST_ROOT, default ${DEFAULT_ROOT})`).argParser(nonEmptyOption('--root')))
    .addOption(
      new Option('--address <address>', 'work through the server there (env DIST_ADDRESS): unix:///path.sock, /path.sock or 127.0.0.1:PORT; `serve` listens there').argParser(
        nonEmptyOption('--address'),
      ),
    )
    .addHelpText('after', exitHelp)
    // Usage errors are one line too, with the hint folded in.
    .configureOutput({ outputError: (str, write) => write(`dist: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
    .exitOverride();
  const one = commandFor(argv);
  const modules = await Promise.all((one ? [one] : commands).map((c) => c.load()));
  for (const m of modules) m.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

async function main(): Promise<void> {
  const program = await buildProgram(process.argv.slice(2));
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}

// EPIPE on stdout (e.g. `dist list | head`) is a normal end, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// Not a top-level await: the bundle built from this file is CommonJS (scripts/bundle-cli.mjs).
// A failure outside every command's own error handling ends the process as an uncaught
// exception (stack on stderr, exit 1), as a rejected top-level await did.
main().catch((err: unknown) => {
  throw err;
});
