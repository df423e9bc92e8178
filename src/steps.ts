/**
 * Pipelines of named steps that report their own timing (prune, verify), as cacache's
 * verify does: each step's duration is appended to `into`, whether it succeeds or throws.
 */
export interface StepTiming {
  name: string;
  ms: number;
}

export function stepTimer(into: StepTiming[]): <T>(name: string, fn: () => Promise<T>) => Promise<T> {
  return async (name, fn) => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      into.push({ name, ms: performance.now() - t0 });
    }
  };
}
