/**
 * Presentation of pull events: a live table on a TTY (ref, state, bar, offset/total, redrawn
 * at most every 100 ms) or NDJSON events (`--json`; progress events throttled to one per
 * ref per 250 ms, state changes always). Both end with a summary: elapsed / total / rate.
 */
import { formatBytes, formatDuration } from '../cli/duration.js';
import type { BlobState } from './transfer.js';
import type { PullEvent, PullResult } from './pull.js';

interface Row {
  ref: string;
  state: BlobState;
  offset: number;
  total: number;
}

export interface PullReporter {
  event(e: PullEvent): void;
  /** Final output after success. */
  finish(r: PullResult): void;
  /** Stop drawing (before an error message). */
  stop(): void;
}

export function summaryLine(r: PullResult): string {
  const secs = r.elapsedMs / 1000;
  const rate = secs > 0 ? r.receivedBytes / secs : 0;
  return `elapsed: ${formatDuration(r.elapsedMs)}  total: ${formatBytes(r.totalBytes)} (${r.blobs} blobs, ${formatBytes(r.receivedBytes)} downloaded)  rate: ${formatBytes(rate)}/s`;
}

function bar(offset: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, offset / total) : 1;
  const n = Math.round(f * width);
  return `[${'='.repeat(Math.max(0, n - 1))}${n > 0 ? (n === width ? '=' : '>') : ''}${' '.repeat(width - n)}]`;
}

export class TableReporter implements PullReporter {
  private readonly rows = new Map<string, Row>();
  private drawnLines = 0;
  private lastDraw = 0;
  private timer?: NodeJS.Timeout;
  private readonly started = performance.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  event(e: PullEvent): void {
    if (e.event === 'resolved') return;
    const row = this.rows.get(e.ref) ?? { ref: e.ref, state: 'resolving' as BlobState, offset: 0, total: e.total };
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

  finish(r: PullResult): void {
    this.stop();
    const lines = this.render().slice(0, -1);
    let s = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    for (const l of lines) s += `\r${l}\x1b[K\n`;
    this.out.write(`${s}\r\x1b[J${r.name}: ${r.target.digest}\n${summaryLine(r)}\n`);
    this.drawnLines = 0;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class JsonReporter implements PullReporter {
  private readonly last = new Map<string, number>();
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  event(e: PullEvent): void {
    if (e.event === 'progress') {
      const now = performance.now();
      if (now - (this.last.get(e.ref) ?? -Infinity) < 250 && e.offset < e.total) return;
      this.last.set(e.ref, now);
    }
    this.out.write(JSON.stringify(e) + '\n');
  }

  finish(r: PullResult): void {
    const secs = r.elapsedMs / 1000;
    this.out.write(
      JSON.stringify({
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
        bytesPerSec: secs > 0 ? Math.round(r.receivedBytes / secs) : 0,
      }) + '\n',
    );
  }

  stop(): void {}
}

/** Neither TTY nor --json: only the result. */
export class QuietReporter implements PullReporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  event(): void {}
  finish(r: PullResult): void {
    this.out.write(`${r.name}: ${r.target.digest}\n${summaryLine(r)}\n`);
  }
  stop(): void {}
}
