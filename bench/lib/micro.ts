/** tinybench helpers: run a set of micro-benchmarks and read p50/p99/mean latencies in ms. */
import { Bench, type Fn } from 'tinybench';

export interface Micro {
  p50: number;
  p99: number;
  mean: number;
  samples: number;
}

export async function micro(
  tasks: Record<string, Fn>,
  opts: { time?: number; iterations?: number; warmupTime?: number; warmupIterations?: number } = {},
): Promise<Record<string, Micro>> {
  const bench = new Bench({
    time: opts.time ?? 500,
    iterations: opts.iterations ?? 10,
    warmupTime: opts.warmupTime ?? 100,
    warmupIterations: opts.warmupIterations ?? 5,
    throws: true,
  });
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, Micro> = {};
  for (const t of bench.tasks) {
    const r = t.result as { state: string; latency?: { p50: number; p99: number; mean: number; samplesCount?: number; samples?: number[] }; error?: Error };
    if (r.state === 'errored') throw r.error ?? new Error(`${t.name} failed`);
    if (!r.latency) throw new Error(`${t.name}: no result (${r.state})`);
    out[t.name] = { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.mean, samples: r.latency.samplesCount ?? r.latency.samples?.length ?? 0 };
  }
  return out;
}
