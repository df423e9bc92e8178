#!/usr/bin/env node
/**
 * `dist`: the command line over the content store. Exit codes are the error kinds'
 * (src/errors.ts EXIT_CODES); 2 is a usage error.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES } from '../errors.js';
import { commands } from './commands/index.js';
import { DEFAULT_ROOT } from './context.js';

const exitHelp = `
Exit codes:
  0    success (also: content already exists)
  1    internal error
  2    usage error
${Object.entries(EXIT_CODES)
  .filter(([k]) => k !== 'Internal')
  .map(([k, v]) => `  ${String(v).padEnd(4)} ${k}`)
  .join('\n')}

Environment:
  DIST_ROOT    store root (default ${DEFAULT_ROOT})
  DIST_JOBS    hashing worker threads (default: available parallelism)
  DIST_LOCK_STALE_MS  heartbeat age after which a ref held on another host is taken
               over (default 10000; a holder alive on this host is never taken over)
  DIST_DEBUG   print stack traces on error`;

export function buildProgram(): Command {
  const program = new Command('dist')
    .description('containerkit: a daemonless content-addressable blob store')
    .option('--root <dir>', `store root (env DIST_ROOT, default ${DEFAULT_ROOT})`)
    .addHelpText('after', exitHelp)
    // Usage errors are one line too, with the hint folded in.
    .configureOutput({ outputError: (str, write) => write(`dist: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
    .exitOverride();
  for (const c of commands) c.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

// libuv reads this when its threadpool starts (first async fs call, after these imports).
// The CLI's work is many small metadata reads (active, prune, list): latency-bound
// round trips that run in parallel across more threads. 4 is libuv's default.
process.env.UV_THREADPOOL_SIZE ??= '16';

async function main(): Promise<void> {
  const program = buildProgram();
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

await main();
