// Progress of a transfer (cp, push, pull, mirror), built from the library's TransferEvents.
// On a terminal: cli-progress bars, one per blob in flight and one overall, with sizes and bytes/s.
// Elsewhere: nothing, unless asked (--progress), then one plain line per finished blob, manifest and image.
// Always on stderr: stdout carries the verb's result. --quiet and --json silence it.
import { MultiBar, type SingleBar } from 'cli-progress';
import type { TransferEvent } from '../client/ops/events.js';

/** Where progress goes: a terminal (isTTY) or any writable (a pipe, a file, a test's fake). */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressFlags {
  quiet?: boolean;
  json?: boolean;
  /** Print progress even when the stream is not a terminal (plain lines, no bars). */
  progress?: boolean;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** sha256:0123456789ab… → "0123456789ab" (docker's short form). */
export function shortDigest(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}

function rate(bytes: number, sinceMs: number, nowMs: number): string {
  const seconds = (nowMs - sinceMs) / 1000;
  return seconds > 0 ? `${formatBytes(Math.round(bytes / seconds))}/s` : '-';
}

/** A renderer of TransferEvents. `stop()` must be called when the transfer ends (well or not). */
export interface Progress {
  onEvent(e: TransferEvent): void;
  stop(): void;
}

/** Bars on a terminal. */
export class BarProgress implements Progress {
  private readonly multi: MultiBar;
  private readonly overall: SingleBar;
  private readonly bars = new Map<string, { bar: SingleBar; started: number; bytes: number }>();
  private readonly started: number;
  private totalBytes = 0;
  /** Bytes of finished blobs (each counted once) plus the running bytes of blobs in flight. */
  private doneBytes = 0;
  private movedBytes = 0;
  private blobsDone = 0;
  private blobsSeen = 0;
  private stopped = false;

  constructor(stream: ProgressStream, private readonly now: () => number = Date.now) {
    this.started = now();
    this.multi = new MultiBar({
      stream: stream as unknown as NodeJS.WritableStream,
      // Short enough for an 80-column terminal (cli-progress cuts longer lines).
      format: '{name} {bar} {percentage}% {sizes} {speed}{extra}',
      barsize: 20,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      // Neither hide the cursor nor turn off line wrapping: a Ctrl-C mid-transfer would leave the terminal so.
      hideCursor: false,
      linewrap: true,
      clearOnComplete: false,
      autopadding: true,
      forceRedraw: true,
      emptyOnZero: true,
      fps: 10,
    });
    this.overall = this.multi.create(0, 0, this.payload('total', 0, 0, this.started, ''));
  }

  private payload(name: string, bytes: number, total: number, since: number, extra: string): Record<string, string> {
    return { name: name.padEnd(12), sizes: `${formatBytes(bytes)}/${formatBytes(total)}`, speed: rate(bytes, since, this.now()), extra };
  }

  private refreshOverall(): void {
    const inFlight = [...this.bars.values()].reduce((n, b) => n + b.bytes, 0);
    const value = this.doneBytes + inFlight;
    this.overall.setTotal(Math.max(this.totalBytes, 1));
    this.overall.update(this.totalBytes === 0 ? 0 : value, {
      ...this.payload('total', value, this.totalBytes, this.started, ''),
      speed: rate(this.movedBytes + inFlight, this.started, this.now()),
      extra: ` ${this.blobsDone}/${this.blobsSeen} blobs`,
    });
  }

  onEvent(e: TransferEvent): void {
    if (this.stopped) return;
    switch (e.type) {
      case 'blob-start': {
        if (this.bars.has(e.descriptor.digest)) return;
        this.blobsSeen += 1;
        this.totalBytes += e.descriptor.size;
        const started = this.now();
        const bar = this.multi.create(Math.max(e.descriptor.size, 1), 0, this.payload(shortDigest(e.descriptor.digest), 0, e.descriptor.size, started, ''));
        this.bars.set(e.descriptor.digest, { bar, started, bytes: 0 });
        break;
      }
      case 'blob-progress': {
        const b = this.bars.get(e.descriptor.digest);
        if (!b) return;
        b.bytes = Math.min(e.bytes, e.descriptor.size);
        b.bar.update(b.bytes, this.payload(shortDigest(e.descriptor.digest), b.bytes, e.descriptor.size, b.started, ''));
        break;
      }
      case 'blob-done': {
        const b = this.bars.get(e.descriptor.digest);
        if (b) {
          this.multi.remove(b.bar);
          this.bars.delete(e.descriptor.digest);
        } else {
          this.blobsSeen += 1;
          this.totalBytes += e.descriptor.size;
        }
        this.blobsDone += 1;
        this.doneBytes += e.descriptor.size;
        if (!e.existed && !e.mounted) this.movedBytes += e.descriptor.size;
        const how = e.existed ? 'already there' : e.mounted ? 'mounted' : 'copied';
        this.multi.log(`${shortDigest(e.descriptor.digest)}  ${formatBytes(e.descriptor.size).padStart(10)}  ${how}\n`);
        break;
      }
      case 'manifest-done':
        this.multi.log(`${shortDigest(e.descriptor.digest)}  manifest${e.tag ? ` (tag ${e.tag})` : ''}\n`);
        break;
      case 'image-start':
      case 'image-done':
        if (e.type === 'image-done') this.multi.log(`${e.source} -> ${e.target} ${e.reference}: done\n`);
        break;
    }
    this.refreshOverall();
  }

  stop(): void {
    if (this.stopped) return;
    this.refreshOverall();
    this.stopped = true;
    // A last render flushes the lines logged since the previous frame (stop() alone would drop them).
    this.multi.update();
    this.multi.stop();
  }
}

/** Plain lines (a pipe or a log file, with --progress): one per finished blob, manifest and image. */
export class LineProgress implements Progress {
  constructor(private readonly stream: ProgressStream) {}

  onEvent(e: TransferEvent): void {
    switch (e.type) {
      case 'blob-done': {
        const how = e.existed ? 'already there' : e.mounted ? 'mounted' : 'copied';
        this.stream.write(`blob ${e.descriptor.digest} ${formatBytes(e.descriptor.size)} ${how}\n`);
        break;
      }
      case 'manifest-done':
        this.stream.write(`manifest ${e.descriptor.digest}${e.tag ? ` tag ${e.tag}` : ''}\n`);
        break;
      case 'image-start':
        this.stream.write(`image ${e.source} -> ${e.target} ${e.reference}\n`);
        break;
      default:
        break;
    }
  }

  stop(): void {}
}

/**
 * The progress a verb shows: bars on a terminal, lines with --progress elsewhere, nothing with --quiet,
 * --json, or on a non-terminal without --progress (undefined then).
 */
export function progressFor(flags: ProgressFlags, stream: ProgressStream = process.stderr): Progress | undefined {
  if (flags.quiet || flags.json) return undefined;
  if (stream.isTTY) return new BarProgress(stream);
  if (flags.progress) return new LineProgress(stream);
  return undefined;
}
