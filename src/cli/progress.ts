/**
 * A one-line progress bar on stderr — files, bytes, rate, ETA — redrawn at most every
 * 100 ms. Silent unless stderr is a TTY (so pipes, logs and tests see only real output);
 * DIST_PROGRESS=1 forces it on, =0 off.
 */
import { formatBytes, formatDuration } from './duration.js';

export interface ProgressCounts {
  filesDone: number;
  bytesDone: number;
  filesTotal: number;
  bytesTotal: number;
  /** False while totals may still grow (paths still being enumerated). */
  totalsFinal: boolean;
}

export class Progress {
  readonly enabled: boolean;
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;
  readonly counts: ProgressCounts = { filesDone: 0, bytesDone: 0, filesTotal: 0, bytesTotal: 0, totalsFinal: false };

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    const force = process.env.DIST_PROGRESS;
    this.enabled = force === '1' ? true : force === '0' ? false : !!stream.isTTY;
  }

  found(bytes: number): void {
    this.counts.filesTotal++;
    this.counts.bytesTotal += bytes;
    this.draw();
  }

  finalTotals(): void {
    this.counts.totalsFinal = true;
    this.draw();
  }

  done(bytes: number, files = 1): void {
    this.counts.filesDone += files;
    this.counts.bytesDone += bytes;
    this.draw();
  }

  set(c: Partial<ProgressCounts>): void {
    Object.assign(this.counts, c);
    this.draw();
  }

  /** Seconds since start, for summaries. */
  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Erase the bar (call before printing a summary or an error). */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  line(): string {
    const c = this.counts;
    const secs = this.elapsedMs / 1000;
    const rate = secs > 0 ? c.bytesDone / secs : 0;
    const more = c.totalsFinal ? '' : '+';
    const pct = c.bytesTotal > 0 ? Math.floor((100 * c.bytesDone) / c.bytesTotal) : c.filesTotal > 0 ? Math.floor((100 * c.filesDone) / c.filesTotal) : 0;
    const width = 20;
    const fill = Math.min(width, Math.round((pct / 100) * width));
    const eta = c.totalsFinal && rate > 0 ? formatDuration((1000 * (c.bytesTotal - c.bytesDone)) / rate) : '-';
    return (
      `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}%  ` +
      `${c.filesDone}/${c.filesTotal}${more} files  ${formatBytes(c.bytesDone)}/${formatBytes(c.bytesTotal)}${more}  ` +
      `${formatBytes(rate)}/s  ETA ${eta}`
    );
  }

  private draw(): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const cols = this.stream.columns || 100;
    this.stream.write(`\r${this.line().slice(0, cols - 1)}\x1b[K`);
    this.drawn = true;
  }
}

/** Decimal megabytes per second, as benchmarks and summaries quote it. */
export function mbPerSec(bytes: number, ms: number): string {
  return ms > 0 ? ((bytes / 1e6) / (ms / 1000)).toFixed(1) : '-';
}
