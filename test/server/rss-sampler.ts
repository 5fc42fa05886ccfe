// Samples a process's resident set size (VmRSS in /proc/<pid>/status) at a fixed interval,
// attributing each sample to the phase the test is in. Linux only, by design.
import { readFileSync, writeFileSync } from 'node:fs';

const MiB = 1024 * 1024;

/** A field of /proc/<pid>/status in bytes (the kernel reports kB). */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(m[1]) * 1024;
}

/** Resets the peak-RSS counter (VmHWM) of a process we own; false if the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private phase = 'idle';
  private readonly peaks = new Map<string, number>();
  private error: Error | undefined;
  samples = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.error) throw this.error;
  }

  /** Samples from now on count towards `phase`. */
  enter(phase: string): void {
    this.sample();
    this.phase = phase;
  }

  private sample(): void {
    try {
      const rss = procStatusBytes(this.pid, 'VmRSS');
      this.samples++;
      this.peaks.set(this.phase, Math.max(this.peaks.get(this.phase) ?? 0, rss));
    } catch (e) {
      this.error ??= e as Error;
    }
  }

  /** Highest sample over all phases except 'idle'. */
  peak(): number {
    return Math.max(0, ...[...this.peaks.entries()].filter(([p]) => p !== 'idle').map(([, v]) => v));
  }

  report(): string[] {
    return [...this.peaks.entries()].filter(([p]) => p !== 'idle').map(([p, v]) => `peak RSS during ${p}: ${mib(v)}`);
  }
}
