import type { Db } from 'mongodb';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { KeyRing, TokenVerifier } from '../../shared/tokens/index.js';
import type { UsersRepository } from '../repositories/users.js';
import type { CallServices } from './calls/index.js';
import type { AuthServices } from './auth/index.js';
import type { ReadinessProbe } from '../routes/health.js';
import type { ApiMetrics } from '../http/metrics.js';

/** Everything route handlers may use; built once by api/main.ts. */
export interface ApiServices {
  config: Config;
  log: Logger;
  db: Db;
  redis?: Redis;
  keyRing: KeyRing;
  probes: ReadinessProbe[];
  verifier: TokenVerifier;
  users: UsersRepository;
  /** Profiles, avatars, call links and calls (issue 4). */
  callServices: CallServices;
  auth: AuthServices;
  metrics: ApiMetrics;
}
