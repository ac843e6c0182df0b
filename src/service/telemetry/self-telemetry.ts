// podflow's own metrics (podflow_*): counters and gauges that every component
// registers, served in Prometheus text format by the telemetry server. Kept
// separate from the flow metrics so that a failing exporter can still be seen.

export type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  series(): Series[];
}

export class Counter {
  readonly #series = new Map<string, Series>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  add(n: number, labels: Labels = {}): void {
    if (n < 0) throw new RangeError(`counter ${this.name} cannot decrease`);
    const key = labelKey(labels);
    const s = this.#series.get(key);
    if (s) s.value += n;
    else this.#series.set(key, { labels: { ...labels }, value: n });
  }

  get(labels: Labels = {}): number {
    return this.#series.get(labelKey(labels))?.value ?? 0;
  }

  series(): Series[] {
    return [...this.#series.values()];
  }
}

export class Gauge {
  readonly #series = new Map<string, Series>();
  readonly #callbacks: Array<() => Series[]> = [];
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  set(v: number, labels: Labels = {}): void {
    this.#series.set(labelKey(labels), { labels: { ...labels }, value: v });
  }

  /** A value read at scrape time (queue sizes, cache sizes). */
  observe(labels: Labels, read: () => number): void {
    this.#callbacks.push(() => [{ labels, value: read() }]);
  }

  get(labels: Labels = {}): number {
    return this.series().find((s) => labelKey(s.labels) === labelKey(labels))?.value ?? 0;
  }

  series(): Series[] {
    return [...this.#series.values(), ...this.#callbacks.flatMap((c) => c())];
  }
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

export class SelfTelemetry {
  readonly #families = new Map<string, Counter | Gauge>();

  /** Returns the counter with this name, creating it on first use. */
  counter(name: string, help: string): Counter {
    return this.#get(name, () => new Counter(name, help), Counter);
  }

  gauge(name: string, help: string): Gauge {
    return this.#get(name, () => new Gauge(name, help), Gauge);
  }

  #get<T extends Counter | Gauge>(name: string, make: () => T, cls: new (...a: never[]) => T): T {
    if (!/^podflow_[a-z0-9_]+$/.test(name)) throw new Error(`self-metric name must be podflow_snake_case: ${name}`);
    const f = this.#families.get(name);
    if (f) {
      if (!(f instanceof cls)) throw new Error(`self-metric ${name} registered as another type`);
      return f;
    }
    const created = make();
    this.#families.set(name, created);
    return created;
  }

  families(): MetricFamily[] {
    return [...this.#families.values()].map((f) => ({
      name: f.name,
      help: f.help,
      type: f instanceof Counter ? 'counter' : 'gauge',
      series: () => f.series(),
    }));
  }

  /** Prometheus text exposition format 0.0.4. */
  render(constLabels: Labels = {}): string {
    const lines: string[] = [];
    for (const f of this.families()) {
      lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      lines.push(`# TYPE ${f.name} ${f.type}`);
      for (const s of f.series()) {
        const all = { ...constLabels, ...s.labels };
        const l = Object.entries(all).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
        lines.push(`${f.name}${l ? `{${l}}` : ''} ${formatValue(s.value)}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
