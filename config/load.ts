import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { Ajv } from 'ajv';
import { DEFAULT_RATE_LIMITS } from './rate-limits.js';
import type { Setting } from './setting.js';
import { ALL_SETTINGS } from './settings/index.js';
import type { Config } from './types.js';

/** Thrown when configuration is invalid; `problems` lists every wrong variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of an optional dotenv file; variables already in `env` win. */
  envFile?: string | null;
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: false, strict: true });

function coerce(setting: Setting, raw: string): { value?: unknown; problem?: string } {
  let value: unknown = raw;
  if (setting.json) {
    try {
      value = JSON.parse(raw);
    } catch {
      return { problem: `${setting.env}: must be valid JSON` };
    }
  }
  const holder = { v: value };
  const validate = ajv.compile({ type: 'object', properties: { v: setting.schema }, required: ['v'] });
  if (!validate(holder)) {
    const reason = (validate.errors ?? []).map((e) => `${e.instancePath.replace(/^\/v/, '') || ''} ${e.message ?? ''}`.trim()).join('; ');
    const shown = setting.secret ? '' : ` (got ${JSON.stringify(raw.length > 80 ? raw.slice(0, 80) + '…' : raw)})`;
    return { problem: `${setting.env}: ${reason}${shown}; ${setting.doc}` };
  }
  return { value: holder.v };
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function readEnvFile(path: string | null | undefined): Record<string, string> {
  if (!path || !existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

/**
 * Builds the configuration: defaults, then the dotenv file, then the environment; each value
 * is type-coerced and checked against its schema. Throws one ConfigError naming every bad
 * variable. The result is deeply frozen.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = { ...readEnvFile(options.envFile === undefined ? '.env' : options.envFile), ...(options.env ?? process.env) };
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const setting of ALL_SETTINGS) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') {
      if (setting.required) problems.push(`${setting.env}: required; ${setting.doc}`);
      else if (setting.default !== undefined) setPath(out, setting.key, structuredClone(setting.default));
      continue;
    }
    const { value, problem } = coerce(setting, raw);
    if (problem) problems.push(problem);
    else setPath(out, setting.key, value);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(withDerivedDefaults(out));
}

function withDerivedDefaults(raw: Record<string, unknown>): Config {
  const config = raw as unknown as Config;
  config.api.rateLimits = { ...structuredClone(DEFAULT_RATE_LIMITS), ...config.api.rateLimits };
  config.auth ??= {} as Config['auth'];
  config.auth.keysDir ??= `${config.dataDir}/keys`;
  config.nodeId ??= `node-${randomBytes(4).toString('hex')}`;
  const displayHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  config.api.publicUrl ??= `http://${displayHost}:${config.api.port}`;
  config.signal.publicUrl ??= `ws://${displayHost}:${config.signal.port}/signal/ws`;
  return config;
}
