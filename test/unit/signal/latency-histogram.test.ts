import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FixedLabelHistogram } from '../../../signal/latency-histogram.js';

const BOUNDS = [0.001, 0.01, 0.1];

function pair(): { ours: FixedLabelHistogram<'local' | 'remote'>; theirs: Histogram<'path'>; oursText: () => Promise<string>; theirsText: () => Promise<string> } {
  const mine = new Registry();
  const reference = new Registry();
  const ours = new FixedLabelHistogram('relay_seconds', 'Relay latency.', 'path', ['local', 'remote'], BOUNDS);
  mine.registerMetric(ours.asRegistryMetric());
  const theirs = new Histogram({ name: 'relay_seconds', help: 'Relay latency.', labelNames: ['path'], buckets: BOUNDS, registers: [reference] });
  return { ours, theirs, oursText: () => mine.metrics(), theirsText: () => reference.metrics() };
}

describe('FixedLabelHistogram', () => {
  it('writes the same exposition text as prom-client\'s Histogram for the same observations', async () => {
    const { ours, theirs, oursText, theirsText } = pair();
    const observations: Array<['local' | 'remote', number]> = [
      ['local', 0.0004], ['local', 0.001], ['local', 0.05], ['local', 3], ['remote', 0.009], ['remote', 0.0101],
    ];
    for (const [path, value] of observations) {
      ours.observe(path, value);
      theirs.observe({ path }, value);
    }
    const text = await oursText();
    expect(text).toBe(await theirsText());
    expect(text).toContain('relay_seconds_bucket{le="0.001",path="local"} 2');
    expect(text).toContain('relay_seconds_bucket{le="+Inf",path="local"} 4');
    expect(text).toContain('relay_seconds_count{path="remote"} 2');
  });

  it('leaves out a label value with no observations, ignores non-finite values and empties on reset', async () => {
    const { ours, oursText } = pair();
    ours.observe('remote', Number.NaN);
    ours.observe('local', 0.002);
    const text = await oursText();
    expect(text).toContain('relay_seconds_count{path="local"} 1');
    expect(text).not.toContain('path="remote"');
    ours.reset();
    expect(await oursText()).not.toContain('relay_seconds_count');
  });
});
