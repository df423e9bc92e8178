/**
 * containerd's filter syntax, for List, ListStatuses and the leases and images listings:
 *
 *   <fieldpath>[<operator><value>]      name==foo   labels.foo   labels."a.b"~=^x   digest!=…
 *
 * A field path is fields (letters, digits, `_`) or quoted strings, joined by `.`; operators
 * are `==`, `!=` and `~=` (a regular expression, matched anywhere); without one, the field
 * must be present. Values are quoted or run to the next `,` or blank. Quotes are `"…"`
 * (with backslash escapes) or `/…/` and `|…|` (only the quote character is escaped: handy
 * for expressions). `,` joins selectors that must all match; a list of filters matches when
 * any one does; an empty filter matches everything.
 *
 * As in containerd: `!=` and `~=` compare an absent field as "" (so `!=` matches it), and
 * expressions are RE2 (re2js): linear time, whatever a client sends.
 */
import { RE2JS } from 're2js';
import { invalidArgument } from '../errors.js';

/** A field's value for a field path, or undefined when the object has no such field. */
export type Adaptor = (fieldpath: readonly string[]) => string | undefined;
export type Matcher = (adaptor: Adaptor) => boolean;

type Op = '==' | '!=' | '~=';
interface Selector {
  path: string[];
  op?: Op;
  value?: string;
  re?: RE2JS;
}

const MAX_FILTER = 4096;
const isField = (c: string) => /[A-Za-z0-9_]/.test(c);
const isQuote = (c: string) => c === '"' || c === '/' || c === '|';
const isBlank = (c: string) => /\s/.test(c);

class Scanner {
  i = 0;
  constructor(readonly s: string) {}
  fail(why: string): never {
    throw invalidArgument('ERR_INVALID_FILTER', `invalid filter ${JSON.stringify(this.s)} at ${this.i}: ${why}`, { actual: this.s });
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  skipBlanks(): void {
    while (this.i < this.s.length && isBlank(this.s[this.i]!)) this.i++;
  }
  quoted(): string {
    const q = this.s[this.i++]!;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail(`unterminated ${q}…${q}`);
      const c = this.s[this.i++]!;
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++] ?? this.fail('dangling backslash');
      if (e === q) out += q;
      else if (q !== '"') out += `\\${e}`; // an expression's escapes are the expression's
      else if (e === '\\') out += '\\';
      else if (e === 'n') out += '\n';
      else if (e === 't') out += '\t';
      else if (e === 'r') out += '\r';
      else if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = this.s.slice(this.i, this.i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(`bad \\${e} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        this.i += n;
      } else this.fail(`unknown escape \\${e}`);
    }
  }
  field(): string {
    if (isQuote(this.peek())) return this.quoted();
    const start = this.i;
    while (this.i < this.s.length && isField(this.s[this.i]!)) this.i++;
    if (this.i === start) this.fail('expected a field name');
    return this.s.slice(start, this.i);
  }
  value(): string {
    if (isQuote(this.peek())) return this.quoted();
    const start = this.i;
    while (this.i < this.s.length && this.s[this.i] !== ',' && !isBlank(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }
}

function parseOne(text: string): Selector[] {
  const sc = new Scanner(text);
  const out: Selector[] = [];
  for (;;) {
    sc.skipBlanks();
    const path = [sc.field()];
    while (sc.peek() === '.') {
      sc.i++;
      path.push(sc.field());
    }
    sc.skipBlanks();
    const sel: Selector = { path };
    const two = text.slice(sc.i, sc.i + 2);
    if (two === '==' || two === '!=' || two === '~=') {
      sc.i += 2;
      sc.skipBlanks();
      sel.op = two;
      sel.value = sc.value();
      if (two === '~=') {
        try {
          sel.re = RE2JS.compile(sel.value);
        } catch (err) {
          sc.fail(`bad expression: ${(err as Error).message}`);
        }
      }
    }
    out.push(sel);
    sc.skipBlanks();
    if (sc.i >= text.length) return out;
    if (sc.peek() !== ',') sc.fail(`unexpected ${JSON.stringify(sc.peek())}`);
    sc.i++;
  }
}

function matches(sel: Selector, adaptor: Adaptor): boolean {
  const v = adaptor(sel.path);
  switch (sel.op) {
    case undefined:
      return v !== undefined;
    case '==':
      return v !== undefined && v === sel.value;
    case '!=':
      return (v ?? '') !== sel.value;
    case '~=':
      return sel.re!.matcher(v ?? '').find();
  }
}

/** Parses filters (InvalidArgument naming the bad one); the matcher ORs them. */
export function parseFilters(filters: readonly string[] | undefined): Matcher {
  const alts: Selector[][] = [];
  for (const f of filters ?? []) {
    if (typeof f !== 'string' || f.length > MAX_FILTER) {
      throw invalidArgument('ERR_INVALID_FILTER', `a filter must be a string of at most ${MAX_FILTER} characters`, {});
    }
    if (f.trim() === '') return () => true; // containerd: an empty filter matches all
    alts.push(parseOne(f));
  }
  if (alts.length === 0) return () => true;
  return (adaptor) => alts.some((sels) => sels.every((s) => matches(s, adaptor)));
}

/** containerd's label lookup: `labels.a.b` names the label "a.b". */
export function mapField(rest: readonly string[], map: Record<string, string> | undefined): string | undefined {
  if (!map || rest.length === 0) return undefined;
  const v = map[rest.join('.')];
  return typeof v === 'string' ? v : undefined;
}

/** Quotes a string as a filter value (`"…"`), so any ref or digest can be matched exactly. */
export function quoteValue(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

/** An RE2 expression matching strings that start with `prefix`, quoted for a filter. */
export function prefixExpression(prefix: string): string {
  return quoteValue(`^${RE2JS.quote(prefix)}`);
}
