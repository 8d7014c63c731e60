import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../../helpers/scratch.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env, envFile: null });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives laptop defaults with no environment', () => {
    const config = loadConfig({ env: {}, envFile: null });
    expect(config.api.port).toBe(3000);
    expect(config.signal.port).toBe(3001);
    expect(config.host).toBe('127.0.0.1');
    expect(config.mongo.url).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
    expect(config.auth.issuer).toBe('api.vidivo.app');
    expect(config.api.rateLimits['login']).toEqual({ points: 5, durationSec: 900 });
    expect(config.api.publicUrl).toBe('http://127.0.0.1:3000');
    expect(config.nodeId).toMatch(/^node-[0-9a-f]{8}$/);
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({ env: { API_PORT: '8080', API_TRUST_PROXY: 'true' }, envFile: null });
    expect(config.api.port).toBe(8080);
    expect(config.api.trustProxy).toBe(true);
  });

  it('lists every wrong variable in one error, naming what each expects', () => {
    const problems = problemsOf({ API_PORT: 'eighty', SIGNAL_PORT: '70000', LOG_LEVEL: 'loud', REDIS_URL: 'http://x', RATE_LIMITS: '{bad' });
    expect(problems).toHaveLength(5);
    expect(problems.find((p) => p.startsWith('API_PORT:'))).toContain('must be integer');
    expect(problems.find((p) => p.startsWith('SIGNAL_PORT:'))).toContain('must be <= 65535');
    expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toContain('allowed values');
    expect(problems.find((p) => p.startsWith('REDIS_URL:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('RATE_LIMITS:'))).toContain('valid JSON');
  });

  it('never echoes secret values in errors', () => {
    const problems = problemsOf({ MONGO_URL: 'postgres://user:hunter2@db' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).not.toContain('hunter2');
  });

  it('validates rate-limit overrides and merges them over the spec table', () => {
    expect(problemsOf({ RATE_LIMITS: '{"login":{"points":0,"durationSec":60}}' })[0]).toContain('RATE_LIMITS');
    const config = loadConfig({ env: { RATE_LIMITS: '{"login":{"points":50,"durationSec":60}}' }, envFile: null });
    expect(config.api.rateLimits['login']).toEqual({ points: 50, durationSec: 60 });
    expect(config.api.rateLimits['register']).toEqual({ points: 3, durationSec: 3600 });
  });

  it('reads a dotenv file, with the environment winning', () => {
    const dir = scratchDir('cfg');
    const file = join(dir, '.env');
    writeFileSync(file, 'API_PORT=4000\nSIGNAL_PORT=4001\n# comment\nLOG_LEVEL="warn"\n');
    const config = loadConfig({ env: { SIGNAL_PORT: '5001' }, envFile: file });
    expect(config.api.port).toBe(4000);
    expect(config.signal.port).toBe(5001);
    expect(config.logLevel).toBe('warn');
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: {}, envFile: null });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.api)).toBe(true);
    expect(() => { (config.api as { port: number }).port = 1; }).toThrow(TypeError);
  });
});
