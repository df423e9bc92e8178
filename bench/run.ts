/**
 * Runs the benchmark suites: all, or those named on the command line.
 *
 *   npm run bench                          # build, then all suites
 *   node dist/bench/run.js hash add        # only these
 *   node dist/bench/run.js --quick         # smaller sizes (a few minutes)
 *   node dist/bench/run.js --json out.json # also write the results as JSON
 *   node dist/bench/run.js --md out.md     # also write the tables as Markdown
 *
 * Every figure is printed next to a baseline measured in the same run, with the ratio.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { addSuite } from './add.js';
import { activeSuite } from './active.js';
import { commitSuite } from './commit.js';
import { hashSuite } from './hash.js';
import { locksSuite } from './locks.js';
import { resumeSuite } from './resume.js';
import { streamSuite } from './stream.js';
import { ingestLimitsSuite } from './ingest-limits.js';
import { verifySuite } from './verify.js';
import { pullSuite } from './pull-suite.js';
import { pushSuite } from './push.js';
import { unpackSuite } from './unpack.js';
import { gcSuite } from './gc.js';
import { serveSuite } from './serve.js';
import { startupSuite } from './startup.js';
import { describeMachine, machine, markdownTable, printTable, removeAllTemps, type Ctx, type Row, type Suite } from './lib/common.js';
import { closeBenchPiscina } from './lib/limits.js';
import { closeDefaultEngine } from '../src/index.js';

const suites: Suite[] = [hashSuite, streamSuite, ingestLimitsSuite, addSuite, locksSuite, resumeSuite, activeSuite, commitSuite, verifySuite, pullSuite, pushSuite, unpackSuite, gcSuite, serveSuite, startupSuite];

function usage(): never {
  console.error(`usage: node dist/bench/run.js [--quick] [--json FILE] [--md FILE] [suite...]\nsuites: ${suites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let quick = false;
  let json: string | undefined;
  let md: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--quick') quick = true;
    else if (a === '--json') json = args[++i] ?? usage();
    else if (a === '--md') md = args[++i] ?? usage();
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage();
    else names.push(a);
  }
  const unknown = names.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`unknown suite(s): ${unknown.join(', ')}`);
    usage();
  }
  const selected = names.length ? suites.filter((s) => names.includes(s.name)) : suites;

  const m = machine();
  console.log(`containerkit benchmarks${quick ? ' (--quick)' : ''}: ${selected.map((s) => s.name).join(', ')}`);
  console.log(describeMachine(m));

  const memo = new Map<string, Promise<unknown>>();
  const ctx: Ctx = {
    quick,
    memo<T>(key: string, fn: () => Promise<T>): Promise<T> {
      let p = memo.get(key) as Promise<T> | undefined;
      if (!p) {
        p = fn();
        memo.set(key, p);
      }
      return p;
    },
    log: (msg) => console.log(msg),
  };

  const results: { suite: string; description: string; seconds: number; load: [number, number]; rows: Row[]; error?: string }[] = [];
  const started = performance.now();
  for (const s of selected) {
    console.log(`\n-- ${s.name}: ${s.description}`);
    const t = performance.now();
    const load0 = loadavg()[0];
    try {
      const rows = await s.run(ctx);
      const seconds = (performance.now() - t) / 1000;
      const load: [number, number] = [load0, loadavg()[0]];
      printTable(`${s.name} (${seconds.toFixed(1)} s; load average ${load[0].toFixed(1)} → ${load[1].toFixed(1)})`, rows);
      results.push({ suite: s.name, description: s.description, seconds, load, rows });
    } catch (err) {
      const seconds = (performance.now() - t) / 1000;
      const msg = (err as Error)?.stack ?? String(err);
      console.log(`\n== ${s.name}: FAILED after ${seconds.toFixed(1)} s\n${msg}`);
      results.push({ suite: s.name, description: s.description, seconds, load: [load0, loadavg()[0]], rows: [], error: String((err as Error)?.message ?? err) });
    } finally {
      removeAllTemps();
    }
  }
  await closeBenchPiscina();
  await closeDefaultEngine();
  const total = (performance.now() - started) / 1000;
  console.log(`\ntotal ${total.toFixed(1)} s`);

  const targets = results.flatMap((r) => r.rows.filter((x) => x.met !== undefined));
  if (targets.length) {
    console.log(`targets: ${targets.filter((x) => x.met).length} met, ${targets.filter((x) => !x.met).length} not met`);
    for (const t of targets.filter((x) => !x.met)) console.log(`  NOT MET  ${t.suite}: ${t.figure} (${t.target})`);
  }

  if (json) {
    writeFileSync(json, JSON.stringify({ machine: m, quick, command: process.argv.slice(1).join(' '), totalSeconds: total, results }, null, 2) + '\n');
    console.log(`wrote ${json}`);
  }
  if (md) {
    const parts = [`# containerkit bench ${m.date}${quick ? ' (--quick)' : ''}`, '```', describeMachine(m), '```'];
    for (const r of results) {
      parts.push(`\n## ${r.suite} — ${r.description} (${r.seconds.toFixed(1)} s; load average ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)})`);
      if (r.error) parts.push(`FAILED: ${r.error}`);
      else {
        parts.push(markdownTable(r.rows));
        const notes = r.rows.filter((x) => x.note).map((x) => `- ${x.figure}: ${x.note}`);
        if (notes.length) parts.push('', ...notes);
      }
    }
    writeFileSync(md, parts.join('\n') + '\n');
    console.log(`wrote ${md}`);
  }
  if (results.some((r) => r.error)) process.exitCode = 1;
}

process.on('SIGINT', () => {
  removeAllTemps();
  process.exit(130);
});

await main();
