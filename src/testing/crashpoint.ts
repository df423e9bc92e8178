/**
 * Deterministic crash points for the crash tests. With CONTAINERKIT_CRASHPOINT=<name> in the
 * environment, reaching crashpoint(<name>) prints `CRASHPOINT <name>` on stderr and stops
 * the process (SIGSTOP), so a test can SIGKILL it exactly there — between fsync and link,
 * half-way through a status record, and so on. Unset (production), it is one comparison.
 * CONTAINERKIT_CRASHPOINT_SKIP=<n> lets the first n hits pass.
 */
const armed = process.env.CONTAINERKIT_CRASHPOINT;
let skip = Number(process.env.CONTAINERKIT_CRASHPOINT_SKIP ?? 0);

export function crashpoint(name: string): void {
  if (armed !== name) return;
  if (skip-- > 0) return;
  process.stderr.write(`CRASHPOINT ${name}\n`);
  process.kill(process.pid, 'SIGSTOP');
}

export const crashpointsArmed = armed !== undefined;
