/**
 * A one-line progress bar on stderr — files, bytes, rate, ETA. Silent unless stderr is a
 * TTY (so pipes, logs and tests see only real output); DIST_PROGRESS=1 forces it on, =0 off.
 *
 * Guarantees: the bar is repainted at most every 100 ms, and never later than 100 ms after
 * the counts change (a trailing paint), so it is always on screen while work runs. Lines
 * the command prints through `print()` appear above the bar: when stdout shares the
 * terminal, the bar is erased, the line written, and the bar painted again at once — so a
 * command that prints a line per file never leaves the screen without its bar.
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

const PERIOD_MS = 100;

export class Progress {
  readonly enabled: boolean;
  private readonly started = performance.now();
  private lastPaint = -Infinity;
  private shown = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** stdout is on the same terminal: lines printed there would land on the bar's row. */
  private readonly sharesScreen: boolean;
  readonly counts: ProgressCounts = { filesDone: 0, bytesDone: 0, filesTotal: 0, bytesTotal: 0, totalsFinal: false };

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    const force = process.env.DIST_PROGRESS;
    this.enabled = force === '1' ? true : force === '0' ? false : !!stream.isTTY;
    this.sharesScreen = this.enabled && !!out.isTTY;
  }

  found(bytes: number): void {
    this.counts.filesTotal++;
    this.counts.bytesTotal += bytes;
    this.changed();
  }

  finalTotals(): void {
    this.counts.totalsFinal = true;
    this.changed();
  }

  done(bytes: number, files = 1): void {
    this.counts.filesDone += files;
    this.counts.bytesDone += bytes;
    this.changed();
  }

  set(c: Partial<ProgressCounts>): void {
    Object.assign(this.counts, c);
    this.changed();
  }

  /** Milliseconds since start, for summaries. */
  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Writes `text` (whole lines) to stdout above the bar. */
  print(text: string): void {
    if (!this.shown || !this.sharesScreen) {
      this.out.write(text);
      return;
    }
    this.erase();
    this.out.write(text);
    this.paint();
  }

  /** Runs `write`, which prints whole lines on stderr (a warning, an error), above the bar. */
  printErr(write: () => void): void {
    if (!this.shown) return write();
    this.erase();
    write();
    this.paint();
  }

  /** Erases the bar for good (before a summary or at exit); later updates draw nothing. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.erase();
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

  /** Paints now if the last paint is old enough, else once when it is. */
  private changed(): void {
    if (!this.enabled || this.stopped) return;
    const wait = this.lastPaint + PERIOD_MS - performance.now();
    if (wait <= 0) return this.paint();
    // unref: a pending repaint never keeps the process alive.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.paint();
    }, wait).unref();
  }

  private paint(): void {
    if (this.stopped) return;
    this.lastPaint = performance.now();
    const cols = this.stream.columns || 100;
    this.stream.write(`\r${this.line().slice(0, cols - 1)}\x1b[K`);
    this.shown = true;
  }

  private erase(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
