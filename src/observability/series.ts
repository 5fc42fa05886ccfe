// Counters and histograms that cost a few plain-number updates to record, exported through a prom-client
// Registry when it is scraped. prom-client's own label children hash and validate their labels on every
// increment (~0.5 µs each); a request records about five values, so the request path keeps its numbers here
// and lets the scrape, a few times a minute, do the formatting.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** Observations bucketed by upper bound (each count is for its own bucket only; exported cumulatively). */
export class HistogramCells {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (v <= bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }
}

/** One exported metric family whose values are read from the recorder's own fields at scrape time. */
class ScrapedFamily {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly read: () => Value[],
  ) {}

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.read() };
  }
}

/** A counter family: one cell per label set, found by a key the caller builds. */
export class CounterFamily {
  private readonly cells = new Map<string, { labels: Labels; value: number }>();

  constructor(registry: Registry, name: string, help: string) {
    registry.registerMetric(new ScrapedFamily(name, help, 'counter', () => [...this.cells.values()].map((c) => ({ labels: c.labels, value: c.value }))) as unknown as Metric);
  }

  /** The cell for these labels (created at 0); keep it to increment `value` directly. */
  cell(key: string, labels: Labels): { value: number } {
    let c = this.cells.get(key);
    if (c === undefined) {
      c = { labels, value: 0 };
      this.cells.set(key, c);
    }
    return c;
  }
}

/** A histogram family: one HistogramCells per label set. */
export class HistogramFamily {
  private readonly cells = new Map<string, { labels: Labels; cells: HistogramCells }>();

  constructor(
    registry: Registry,
    private readonly name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    registry.registerMetric(new ScrapedFamily(name, help, 'histogram', () => this.values()) as unknown as Metric);
  }

  cell(key: string, labels: Labels): HistogramCells {
    let c = this.cells.get(key);
    if (c === undefined) {
      c = { labels, cells: new HistogramCells(this.bounds) };
      this.cells.set(key, c);
    }
    return c.cells;
  }

  private values(): Value[] {
    const out: Value[] = [];
    for (const { labels, cells } of this.cells.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += cells.counts[i]!;
        out.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(this.bounds[i]) }, value: cumulative });
      }
      out.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cells.count });
      out.push({ metricName: `${this.name}_sum`, labels, value: cells.sum });
      out.push({ metricName: `${this.name}_count`, labels, value: cells.count });
    }
    return out;
  }
}
