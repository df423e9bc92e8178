/**
 * Walk filters in containerd's syntax (a subset): `field==value`, `field!=value`,
 * `field~=regexp`; `,` joins conditions that must all hold; a list of filters matches when
 * any one does. Fields: `name`, `kind`, `parent`, `labels.KEY`, `labels."KEY"` (quotes for
 * keys holding dots or operators). Values may be double-quoted. A bare field (`parent`,
 * `labels.KEY`) tests presence.
 */
import { invalidArgument } from '../errors.js';
import type { Info } from './types.js';

type Op = '==' | '!=' | '~=' | 'present';
interface Cond {
  field: string[];
  op: Op;
  value: string;
  re?: RegExp;
}

const bad = (filter: string, why: string) => invalidArgument('ERR_INVALID_FILTER', `invalid filter ${JSON.stringify(filter)}: ${why}`, { actual: filter });

function unquote(s: string, filter: string): string {
  if (!s.startsWith('"')) return s;
  try {
    return JSON.parse(s) as string;
  } catch {
    throw bad(filter, `bad quoted string ${s}`);
  }
}

/** Splits on `sep` outside double quotes. */
function split(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' && s[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && s.startsWith(sep, i)) {
      out.push(cur);
      cur = '';
      i += sep.length - 1;
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

function parseCond(text: string, filter: string): Cond {
  const m = /^(name|kind|parent|labels\.(?:"(?:[^"\\]|\\.)*"|[^=!~"]+))(?:(==|!=|~=)(.*))?$/s.exec(text.trim());
  if (!m) throw bad(filter, `cannot parse ${JSON.stringify(text)} (fields: name, kind, parent, labels.KEY)`);
  const [, path, op, raw] = m as unknown as [string, string, Op | undefined, string | undefined];
  const field = path.startsWith('labels.') ? ['labels', unquote(path.slice(7), filter)] : [path];
  if (!op) return { field, op: 'present', value: '' };
  const value = unquote(raw!.trim(), filter);
  if (op !== '~=') return { field, op, value };
  try {
    return { field, op, value, re: new RegExp(value) };
  } catch (err) {
    throw bad(filter, (err as Error).message);
  }
}

export type Matcher = (info: Info) => boolean;

export function parseFilters(filters: readonly string[]): Matcher {
  const alts = filters.map((f) => split(f, ',').map((c) => parseCond(c, f)));
  if (alts.length === 0) return () => true;
  return (info) => alts.some((conds) => conds.every((c) => test(c, info)));
}

function test(c: Cond, info: Info): boolean {
  const v = c.field[0] === 'labels' ? info.labels[c.field[1]!] : (info as unknown as Record<string, string | undefined>)[c.field[0]!];
  switch (c.op) {
    case 'present':
      return v !== undefined;
    case '==':
      return v === c.value;
    case '!=':
      return v !== c.value;
    case '~=':
      return v !== undefined && c.re!.test(v);
  }
}
