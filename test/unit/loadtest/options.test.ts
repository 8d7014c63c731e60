import { describe, expect, it } from 'vitest';
import { helpText, OPTION_DOCS, parseOptions, socketsPerWorker, WORKER_FD_MARGIN } from '../../../scripts/loadtest/options.js';
import { parseDuration, parseRatio } from '../../../scripts/loadtest/units.js';

describe('units', () => {
  it('parses durations with units, and bare numbers in the default unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120000);
    expect(parseDuration('30', 's')).toBe(30000);
    expect(parseDuration('30')).toBe(30);
    expect(() => parseDuration('fast')).toThrow(TypeError);
    expect(() => parseDuration('-5s')).toThrow(TypeError);
  });

  it('parses ratios as percentages or fractions', () => {
    expect(parseRatio('0.1%')).toBeCloseTo(0.001);
    expect(parseRatio('5%')).toBeCloseTo(0.05);
    expect(parseRatio('0.02')).toBeCloseTo(0.02);
    expect(() => parseRatio('150%')).toThrow(TypeError);
    expect(() => parseRatio('lots')).toThrow(TypeError);
  });
});

describe('parseOptions', () => {
  it('has sane defaults', () => {
    const o = parseOptions([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o).toMatchObject({ api: 'http://127.0.0.1:3000', calls: 100, concurrency: 100, rampPerSec: 50, durationMs: 30000, churn: 0, seed: 'vidivo', workers: 1, hosts: 100, reuse: false, json: false });
    expect(o.localAddresses).toHaveLength(8);
    expect(o.thresholds).toEqual({});
  });

  it('parses thresholds with units and sizes workers for the socket count', () => {
    const o = parseOptions(['-n', '10000', '--max-p99-setup', '500ms', '--max-error-rate', '0.1%', '--max-p99-relay', '20ms', '--api', 'http://10.0.0.5:3000/', '--churn', '5%']);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.thresholds).toEqual({ maxP99SetupMs: 500, maxErrorRate: 0.001, maxP99RelayMs: 20 });
    expect(o.workers).toBe(3);
    expect(o.api).toBe('http://10.0.0.5:3000');
    expect(o.localAddresses).toEqual([]);
    expect(o.churn).toBeCloseTo(0.05);
  });

  it('takes the admin from the environment and repeats --signal', () => {
    const o = parseOptions(['--signal', 'ws://a:1/x', '--signal', 'ws://b:2/x'], { LOADTEST_ADMIN_EMAIL: 'a@b.co', LOADTEST_ADMIN_PASSWORD: 'secretsecret' });
    if (o === 'help') throw new Error('unexpected help');
    expect(o.signal).toEqual(['ws://a:1/x', 'ws://b:2/x']);
    expect(o.adminEmail).toBe('a@b.co');
  });

  it('renews host tokens 5 minutes before expiry by default, and caps a call below the 24 h guest session', () => {
    const o = parseOptions([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.refreshBeforeMs).toBe(300_000);
    const custom = parseOptions(['--refresh-before', '90s', '-d', '23h']);
    if (custom === 'help') throw new Error('unexpected help');
    expect(custom.refreshBeforeMs).toBe(90_000);
    expect(custom.durationMs).toBe(23 * 3_600_000);
    expect(() => parseOptions(['-d', '24h'])).toThrow(/--duration.*guest session/);
    expect(() => parseOptions(['--refresh-before', '0'])).toThrow(/--refresh-before/);
  });

  it('reaches 10,000 concurrent calls with the defaults: hosts, workers under the descriptor cap, loopback sources', () => {
    const o = parseOptions(['-n', '10000', '--ramp', '50', '-d', '300s', '--api', 'http://127.0.0.1:3000', '--signal', 'ws://127.0.0.1:3001/signal/ws']);
    if (o === 'help') throw new Error('unexpected help');
    expect(o).toMatchObject({ calls: 10000, concurrency: 10000, hosts: 10000, workers: 3 });
    expect(socketsPerWorker(o)).toBe(6667);
    expect(socketsPerWorker(o) + WORKER_FD_MARGIN).toBeLessThan(20000);
    expect(o.localAddresses).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8']);
    expect(o.rampPerSec * (o.durationMs / 1000)).toBeGreaterThanOrEqual(o.calls);
    const fewer = parseOptions(['-n', '10000', '-w', '1']);
    if (fewer === 'help') throw new Error('unexpected help');
    expect(socketsPerWorker(fewer)).toBe(20000);
  });

  it('refuses unknown options and bad values', () => {
    expect(() => parseOptions(['--bogus'])).toThrow();
    expect(() => parseOptions(['-n', '0'])).toThrow(/--calls/);
    expect(() => parseOptions(['--api', 'ftp://x'])).toThrow(/--api/);
    expect(() => parseOptions(['--max-p99-setup', 'soon'])).toThrow(/duration/);
  });

  it('documents every option in --help', () => {
    expect(parseOptions(['--help'])).toBe('help');
    const help = helpText();
    for (const o of OPTION_DOCS) expect(help).toContain(`--${o.name}`);
  });
});
