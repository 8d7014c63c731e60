import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../../../config/index.js';
import type { CallCacheWriter } from '../../../shared/calls/index.js';
import { assertIceConfig } from '../../../shared/ice/turn.js';
import type { KeyRing } from '../../../shared/tokens/index.js';
import type { AvatarStorage } from '../../repositories/avatars.js';
import { CallLinksRepository } from '../../repositories/call-links.js';
import { CallsRepository } from '../../repositories/calls.js';
import type { UsersRepository } from '../../repositories/users.js';
import { AvatarsService } from '../avatars/avatars-service.js';
import { LinksService } from '../links/links-service.js';
import { UsersService } from '../users/users-service.js';
import { CallsService, type CallBilling } from './calls-service.js';
import type { CallAnnouncer } from './announcer.js';
import type { HostPresence } from './presence.js';
import { startSweeper, type Sweeper } from './ring-sweeper.js';
import { SignalingIssuer } from './signaling-issuer.js';

/** Users, avatars, links and calls, as the routes use them. */
export interface CallServices {
  profiles: UsersService;
  avatars: AvatarsService;
  links: LinksService;
  calls: CallsService;
  avatarMaxBytes: number;
  /** Starts the ring-timeout sweeper (api/main.ts stops it on close). */
  startSweeper(): Sweeper;
}

export interface CallServicesDeps {
  config: Config;
  db: Db;
  log: Logger;
  keyRing: KeyRing;
  users: UsersRepository;
  presence: HostPresence;
  announcer: CallAnnouncer;
  /** Where every call created, moved or read is written for the signal tier's joins (absent: nowhere). */
  callCache?: CallCacheWriter;
  avatarStorage: AvatarStorage;
  /** Holds for paid links (absent: paid links are refused with 503). */
  billing?: CallBilling;
}

/** Builds the services and creates their indexes. Throws a TypeError for TURN URLs without a secret. */
export async function createCallServices(deps: CallServicesDeps): Promise<CallServices> {
  const { config } = deps;
  const settings = config.calls;
  assertIceConfig(settings.ice);
  const log = deps.log.child({ component: 'calls' });
  const linksRepo = new CallLinksRepository(deps.db);
  const cache = deps.callCache && { writer: deps.callCache, onFailure: (err: unknown, operation: string, call: string) => log.warn({ err, operation, call }, 'call cache not written') };
  const callsRepo = new CallsRepository(deps.db, cache);
  await Promise.all([linksRepo.ensureIndexes(), callsRepo.ensureIndexes()]);
  const profiles = new UsersService(deps.users, settings.rate);
  const links = new LinksService(linksRepo, callsRepo, deps.users, { rates: settings.rate, maxDurationSec: settings.maxDurationSec });
  const issuer = new SignalingIssuer({ keyRing: deps.keyRing, issuer: config.auth.issuer, signalUrl: config.signal.publicUrl, ice: settings.ice });
  const calls = new CallsService({
    calls: callsRepo, links: linksRepo, linksService: links, presence: deps.presence, announcer: deps.announcer, issuer, log, ...(deps.billing ? { billing: deps.billing } : {}),
    options: { maxDurationSec: settings.maxDurationSec, ringTimeoutSec: settings.ringTimeoutSec },
  });
  const avatars = new AvatarsService(deps.avatarStorage, deps.users, settings.avatar, (id) => `${config.api.publicUrl}/v1/avatars/${id}`);
  return {
    profiles, avatars, links, calls, avatarMaxBytes: settings.avatar.maxBytes,
    startSweeper: () => startSweeper((now) => calls.sweepRingTimeouts(now), settings.sweepIntervalMs, log),
  };
}
