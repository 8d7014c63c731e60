import { describe, expect, it } from 'vitest';
import { Histogram, percentiles } from '../../../scripts/loadtest/histogram.js';

describe('Histogram', () => {
  it('answers percentiles within 1% of the exact sorted-sample values', () => {
    const h = new Histogram();
    const samples: number[] = [];
    for (let i = 1; i <= 10000; i++) {
      const v = (i * 7919) % 10000 / 10 + 0.05;
      samples.push(v);
      h.record(v);
    }
    samples.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = samples[Math.ceil(q * samples.length) - 1]!;
      expect(Math.abs(h.percentile(q)! - exact) / exact).toBeLessThan(0.01);
    }
    expect(h.percentile(1)).toBe(samples.at(-1));
    expect(h.count).toBe(10000);
    expect(h.min).toBe(samples[0]);
  });

  it('keeps extremes exact over a wide range and stays within its fixed bucket count', () => {
    const h = new Histogram();
    h.record(0.001);
    h.record(3_600_000);
    expect(h.min).toBe(0.001);
    expect(h.max).toBe(3_600_000);
    expect(h.toJSON().buckets.length).toBe(2);
    expect(h.percentile(0.99)).toBeLessThanOrEqual(3_600_000);
  });

  it('merges snapshots (as workers send them) into the same distribution', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 1000; i++) {
      (i % 2 ? a : b).record(i);
      all.record(i);
    }
    const merged = Histogram.from(JSON.parse(JSON.stringify(a.toJSON())));
    merged.merge(b.toJSON());
    expect(percentiles(merged)).toEqual(percentiles(all));
  });

  it('reports nothing for an empty histogram and ignores invalid values', () => {
    const h = new Histogram();
    h.record(Number.NaN);
    h.record(-1);
    expect(percentiles(h)).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null, mean: null });
  });
});
