/**
 * Summaries of a V8 CPU profile (`node --cpu-prof`): where a short process spends its
 * samples, by category and by function, so a start-up figure comes with what explains it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled time (ms): from the profiler's start (after Node's own bootstrap) to exit. */
  totalMs: number;
  /** ms per category, largest first. */
  categories: Array<[string, number]>;
  /** ms of self time per function, largest first. */
  functions: Array<[string, number]>;
}

const BUILTINS = new Set(['compileForInternalLoader', 'compileForPublicLoader', 'requireBuiltin', 'loadBuiltinModule']);
const COMPILING = new Set(['compileFunction', 'wrapSafe', 'compileSourceTextModule', 'ModuleWrap', 'link', 'instantiate']);

/** The category of a sample by its own (innermost) frame. */
function category(f: CallFrame): string {
  const { functionName: fn, url } = f;
  if (fn === '(idle)') return 'idle: waiting on I/O (fsync, file system, stdin)';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8 outside JS (parsing, compiling, runtime)';
  if (BUILTINS.has(fn)) return "loading Node's built-in modules";
  if (url === 'node:vm' || (fn === 'Script' && url === '')) return 'compiling the CLI bundle from its code cache';
  if (COMPILING.has(fn) || url.startsWith('node:internal/modules/')) return 'module loaders (resolve, read, compile)';
  if (url.startsWith('node:')) return 'Node internals in JS (bootstrap, fs, streams)';
  if (url.startsWith('wasm://')) return 'hashing (hash-wasm)';
  if (url.includes('/dist/')) return 'containerkit and its bundled packages (JS)';
  if (url.includes('/node_modules/')) return 'packages loaded from node_modules (JS)';
  if (url === '') return 'native calls (file system, process)';
  return 'other';
}

function label(f: CallFrame): string {
  const where = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}:${f.lineNumber + 1}` : ''}`;
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i] ?? 0;
    const node = byId.get(p.samples[i]);
    if (!node) continue;
    total += us;
    const c = category(node.callFrame);
    cats.set(c, (cats.get(c) ?? 0) + us);
    const l = label(node.callFrame);
    fns.set(l, (fns.get(l) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([k, v]) => [k, v / 1000] as [string, number]).sort((a, b) => b[1] - a[1]);
  return { totalMs: total / 1000, categories: sorted(cats), functions: sorted(fns) };
}

/** The one profile `node --cpu-prof --cpu-prof-dir DIR` wrote. */
export function profileIn(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return join(dir, files[0]);
}
