import { loadConfig, type Config } from '../../config/index.js';
import { scratchDir } from './scratch.js';

/** A test configuration: ephemeral ports, silent logs, a temporary data folder; `env` overrides. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = scratchDir('vidivo-test');
  return loadConfig({
    envFile: null,
    env: {
      NODE_ENV: 'test', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', API_PORT: '0', SIGNAL_PORT: '0', DATA_DIR: dataDir,
      ...env,
    },
  });
}
