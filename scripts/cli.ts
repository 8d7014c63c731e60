#!/usr/bin/env node
import { loadConfig, ConfigError } from '../config/index.js';
import { buildGoTool, GO_TOOLS, type GoTool } from '../shared/runtime/go-tools.js';
import { createLogger } from '../shared/runtime/logger.js';
import { generateKeyFile, KEY_RETENTION_SEC, pruneKeyFiles } from '../shared/tokens/index.js';
import type { Mode } from './start.js';

const USAGE = `Usage: vidivo [command]

Commands:
  all           API and signaling in one process (default)
  api           REST API only
  signal        signaling node only
  rotate-keys [--activate-in SECONDS]
                add a signing key to JWT_KEYS_DIR; it signs from now + SECONDS (default 0),
                older keys keep verifying (procedure: docs/auth.md)
  prune-keys    delete keys replaced longer ago than the longest token lifetime (24 h + 5 min)
  tools         build the Go-based helper servers (FerretDB, stripe-mock) into .cache/bin
  loadtest      drive N concurrent calls against a deployment (vidivo loadtest --help; docs/load-testing.md)
  create-admin  create or promote an admin account in the database (--email, --password)

Configuration comes from environment variables and an optional .env file (see README).`;

async function run(mode: Mode): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel }).child({ node: config.nodeId });
  // Imported here so tool commands (loadtest, keys) do not load the servers.
  const { startProduct } = await import('./start.js');
  const product = await startProduct(mode, config, log);
  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 2000);
    deadline.unref();
    product.stop().then(() => {
      log.info('stopped');
      process.exit(0);
    }, (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  void product.died?.then((err) => {
    log.error({ err }, 'api process died; stopping');
    process.exitCode = 1;
    signals += 1;
    product.stop().finally(() => process.exit(1));
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'all';
  switch (command) {
    case 'all':
    case 'api':
    case 'signal':
      return run(command);
    case 'rotate-keys': {
      const config = loadConfig();
      const flag = argv.indexOf('--activate-in');
      const delaySec = flag === -1 ? 0 : Number(argv[flag + 1]);
      if (!Number.isInteger(delaySec) || delaySec < 0) throw new Error('--activate-in takes a whole number of seconds');
      const activatesAt = new Date(Date.now() + delaySec * 1000);
      const kid = generateKeyFile(config.auth.keysDir, activatesAt);
      console.log(`new signing key ${kid} in ${config.auth.keysDir}: published by each process once restarted, signs from ${activatesAt.toISOString()} (see docs/auth.md)`);
      return;
    }
    case 'prune-keys': {
      const config = loadConfig();
      const deleted = pruneKeyFiles(config.auth.keysDir, KEY_RETENTION_SEC);
      console.log(deleted.length > 0 ? `deleted keys replaced more than ${KEY_RETENTION_SEC} s ago: ${deleted.join(', ')}` : 'no key is old enough to delete');
      return;
    }
    case 'tools':
      for (const tool of Object.keys(GO_TOOLS) as GoTool[]) console.log(`${tool}: ${await buildGoTool(tool)}`);
      return;
    case 'loadtest': {
      const { runLoadtest } = await import('./loadtest/main.js');
      process.exitCode = await runLoadtest(argv.slice(1));
      return;
    }
    case 'create-admin': {
      const { createAdminCommand } = await import('./loadtest/create-admin-command.js');
      process.exitCode = await createAdminCommand(argv.slice(1));
      return;
    }
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error('fatal:', err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
