import type { Metric } from 'prom-client';

/** One exposition line's value, in the shape prom-client's registry formats. */
interface LineValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram with one label whose values are known up front, kept in typed arrays
 * and handed to a prom-client registry as a custom metric. `observe` runs for every relayed
 * frame and allocates nothing; prom-client's own `Histogram.observe` builds a closure and label
 * objects and hashes the labels on every call.
 */
export class FixedLabelHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<L, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    labelValues: readonly L[],
    private readonly upperBounds: readonly number[],
  ) {
    for (const value of labelValues) this.#series.set(value, { buckets: new Float64Array(upperBounds.length), sum: 0, count: 0 });
  }

  /** Records `value` under label value `label` (one of those given to the constructor). */
  observe(label: L, value: number): void {
    const series = this.#series.get(label);
    if (!series || !Number.isFinite(value)) return;
    series.sum += value;
    series.count += 1;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        series.buckets[i]! += 1;
        return;
      }
    }
  }

  reset(): void {
    for (const series of this.#series.values()) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** The registry's view: cumulative `_bucket` lines up to `+Inf`, then `_sum` and `_count`, per label value. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: LineValue[] }> {
    const values: LineValue[] = [];
    for (const [label, series] of this.#series) {
      if (series.count === 0) continue;
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += series.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, [this.labelName]: label }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: label }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: label }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: label }, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** This histogram as the metric type a prom-client `Registry.registerMetric` takes (it calls only `get`, `reset` and the name fields). */
  asRegistryMetric(): Metric {
    return this as unknown as Metric;
  }
}
