/**
 * Presentation of pull and push events: a live table on a TTY (ref, state, bar,
 * offset/total, redrawn at most every 100 ms) or NDJSON events (`--json`; progress events
 * throttled to one per ref per 250 ms, state changes always). Both end with a summary:
 * elapsed / total / rate, worded per operation (`Outcome`).
 */
import { formatBytes, formatDuration } from '../cli/duration.js';
import type { PullResult } from './pull.js';
import type { PushResult } from './push.js';

interface Row {
  ref: string;
  state: string;
  offset: number;
  total: number;
}

/** The events the reporters draw: pull's and push's both have this shape. */
export type TransferEvent =
  | { event: 'resolved' }
  | { event: 'blob'; ref: string; state: string; offset: number; total: number }
  | { event: 'progress'; ref: string; offset: number; total: number };

/** How a finished operation is reported: its closing lines, and its JSON `done` event. */
export interface Outcome<R> {
  text(r: R): string;
  json(r: R): Record<string, unknown>;
}

export interface Reporter<R> {
  event(e: TransferEvent): void;
  /** Final output after success. */
  finish(r: R): void;
  /** Stop drawing (before an error message). */
  stop(): void;
}

export type PullReporter = Reporter<PullResult>;

const rateOf = (bytes: number, ms: number) => (ms > 0 ? bytes / (ms / 1000) : 0);

export function summaryLine(r: PullResult): string {
  return `elapsed: ${formatDuration(r.elapsedMs)}  total: ${formatBytes(r.totalBytes)} (${r.blobs} blobs, ${formatBytes(r.receivedBytes)} downloaded)  rate: ${formatBytes(rateOf(r.receivedBytes, r.elapsedMs))}/s`;
}

export const pullOutcome: Outcome<PullResult> = {
  text: (r) => `${r.name}: ${r.target.digest}\n${summaryLine(r)}\n`,
  json: (r) => ({
    event: 'done',
    name: r.name,
    digest: r.target.digest,
    mediaType: r.target.mediaType,
    resolved: r.resolved.digest,
    blobs: r.blobs,
    existing: r.existing,
    totalBytes: r.totalBytes,
    receivedBytes: r.receivedBytes,
    elapsedMs: Math.round(r.elapsedMs),
    bytesPerSec: Math.round(rateOf(r.receivedBytes, r.elapsedMs)),
  }),
};

export function pushSummaryLine(r: PushResult): string {
  const parts = [`${r.blobs} blobs`, `${formatBytes(r.sentBytes)} uploaded`];
  if (r.mounted) parts.push(`${r.mounted} mounted`);
  if (r.existing) parts.push(`${r.existing} already there`);
  if (r.resumed) parts.push(`${r.resumed} resumed`);
  return `elapsed: ${formatDuration(r.elapsedMs)}  total: ${formatBytes(r.totalBytes)} (${parts.join(', ')})  rate: ${formatBytes(rateOf(r.sentBytes, r.elapsedMs))}/s`;
}

export const pushOutcome: Outcome<PushResult> = {
  text: (r) => `${r.name}: ${r.target.digest}\n${pushSummaryLine(r)}\n`,
  json: (r) => ({
    event: 'done',
    name: r.name,
    source: r.source,
    digest: r.target.digest,
    mediaType: r.target.mediaType,
    blobs: r.blobs,
    existing: r.existing,
    mounted: r.mounted,
    resumed: r.resumed,
    totalBytes: r.totalBytes,
    sentBytes: r.sentBytes,
    elapsedMs: Math.round(r.elapsedMs),
    bytesPerSec: Math.round(rateOf(r.sentBytes, r.elapsedMs)),
  }),
};

function bar(offset: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, offset / total) : 1;
  const n = Math.round(f * width);
  return `[${'='.repeat(Math.max(0, n - 1))}${n > 0 ? (n === width ? '=' : '>') : ''}${' '.repeat(width - n)}]`;
}

export class TableReporter<R = PullResult> implements Reporter<R> {
  private readonly rows = new Map<string, Row>();
  private drawnLines = 0;
  private lastDraw = 0;
  private timer?: NodeJS.Timeout;
  private readonly started = performance.now();

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly outcome: Outcome<R> = pullOutcome as unknown as Outcome<R>,
  ) {}

  event(e: TransferEvent): void {
    if (e.event === 'resolved') return;
    const row = this.rows.get(e.ref) ?? { ref: e.ref, state: 'resolving', offset: 0, total: e.total };
    if (e.event === 'blob') row.state = e.state;
    row.offset = e.offset;
    this.rows.set(e.ref, row);
    this.schedule();
  }

  private schedule(): void {
    const wait = 100 - (performance.now() - this.lastDraw);
    if (wait <= 0) return this.draw();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
  }

  private render(): string[] {
    const cols = this.out.columns || 120;
    const refW = Math.min(36, Math.max(10, cols - 70));
    const lines = [...this.rows.values()].map((r) => {
      const ref = r.ref.length > refW ? `${r.ref.slice(0, refW - 1)}…` : r.ref.padEnd(refW);
      return `${ref}  ${r.state.padEnd(11)}  ${bar(r.offset, r.total)}  ${formatBytes(r.offset)}/${formatBytes(r.total)}`.slice(0, cols - 1);
    });
    const done = [...this.rows.values()].reduce((t, r) => t + r.offset, 0);
    lines.push(`elapsed: ${formatDuration(performance.now() - this.started)}  ${formatBytes(done)}`);
    return lines;
  }

  private draw(): void {
    this.lastDraw = performance.now();
    const lines = this.render();
    let s = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    for (const l of lines) s += `\r${l}\x1b[K\n`;
    this.out.write(s);
    this.drawnLines = lines.length;
  }

  finish(r: R): void {
    this.stop();
    const lines = this.render().slice(0, -1);
    let s = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    for (const l of lines) s += `\r${l}\x1b[K\n`;
    this.out.write(`${s}\r\x1b[J${this.outcome.text(r)}`);
    this.drawnLines = 0;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class JsonReporter<R = PullResult> implements Reporter<R> {
  private readonly last = new Map<string, number>();
  constructor(
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly outcome: Outcome<R> = pullOutcome as unknown as Outcome<R>,
  ) {}

  event(e: TransferEvent): void {
    if (e.event === 'progress') {
      const now = performance.now();
      if (now - (this.last.get(e.ref) ?? -Infinity) < 250 && e.offset < e.total) return;
      this.last.set(e.ref, now);
    }
    this.out.write(JSON.stringify(e) + '\n');
  }

  finish(r: R): void {
    this.out.write(JSON.stringify(this.outcome.json(r)) + '\n');
  }

  stop(): void {}
}

/** Neither TTY nor --json: only the result. */
export class QuietReporter<R = PullResult> implements Reporter<R> {
  constructor(
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly outcome: Outcome<R> = pullOutcome as unknown as Outcome<R>,
  ) {}
  event(): void {}
  finish(r: R): void {
    this.out.write(this.outcome.text(r));
  }
  stop(): void {}
}
