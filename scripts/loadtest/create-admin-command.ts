import { parseArgs } from 'node:util';
import { UsersRepository } from '../../api/repositories/users.js';
import { createOrPromoteAdmin } from '../../api/services/admin/create-admin.js';
import { PasswordHasher } from '../../api/services/auth/passwords.js';
import { loadConfig } from '../../config/index.js';
import { AppError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/runtime/logger.js';
import { connectMongo } from '../../shared/runtime/mongo/connect.js';
import { resolveMongo } from '../../shared/runtime/mongo/resolve.js';

const USAGE = `Usage: vidivo create-admin --email EMAIL [--password PASSWORD]

Creates an admin account directly in the configured database (MONGO_URL / MONGO_DB), or promotes
the account with that email to admin and sets its password. The password may come from the
VIDIVO_ADMIN_PASSWORD environment variable instead of the command line.`;

/** `vidivo create-admin`: an operator action on the database, not an HTTP endpoint. Resolves with the exit code. */
export async function createAdminCommand(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let values: { email?: string; password?: string; help?: boolean };
  try {
    values = parseArgs({ args: argv, options: { email: { type: 'string' }, password: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const password = values.password ?? env['VIDIVO_ADMIN_PASSWORD'];
  if (!values.email || !password) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const log = createLogger({ level: 'warn' });
  const mongo = await resolveMongo({ url: config.mongo.url, dataDir: config.dataDir, log });
  const handle = await connectMongo(mongo.url, config.mongo.database);
  try {
    const users = new UsersRepository(handle.db);
    await users.ensureIndexes();
    const result = await createOrPromoteAdmin({ users, passwords: new PasswordHasher(config.auth.argon2) }, values.email, password, new Date());
    console.log(`admin ${values.email.toLowerCase()} ${result.action} (id ${result.id})`);
    return 0;
  } catch (err) {
    if (err instanceof AppError && err.code === 'validation_error') {
      console.error(`invalid input: ${JSON.stringify(err.details)}`);
      return 2;
    }
    throw err;
  } finally {
    await handle.close();
    await mongo.stop();
  }
}
