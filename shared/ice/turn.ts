import { createHmac } from 'node:crypto';

/** One entry of the WebRTC `RTCConfiguration.iceServers` list. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** Where clients find STUN and TURN (`config.calls.ice`, read by both tiers). */
export interface IceConfig {
  stunUrls: readonly string[];
  turnUrls: readonly string[];
  turnSecret?: string | undefined;
  /** Lifetime of a TURN credential, counted from the issue time of the signaling token. */
  turnTtlSec: number;
}

/** Throws a TypeError when TURN URLs are configured without the secret their credentials need. */
export function assertIceConfig(config: IceConfig): void {
  if (config.turnUrls.length > 0 && !config.turnSecret) throw new TypeError('TURN_URLS is set but TURN_SECRET is not');
}

/**
 * A TURN REST API credential (the scheme coturn's `use-auth-secret` checks): the username is
 * `<expiry unix seconds>:<user id>`, the credential base64(HMAC-SHA1(secret, username)).
 */
export function turnCredential(secret: string, userId: string, expiresAtSec: number): { username: string; credential: string } {
  const username = `${expiresAtSec}:${userId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The ICE servers for one participant: STUN as configured, TURN with a credential expiring at `expiresAtSec`. */
export function iceServersFor(config: Omit<IceConfig, 'turnTtlSec'>, userId: string, expiresAtSec: number): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length > 0 && config.turnSecret) {
    servers.push({ urls: [...config.turnUrls], ...turnCredential(config.turnSecret, userId, expiresAtSec) });
  }
  return servers;
}

/**
 * The ICE servers handed out with a signaling token issued at `issuedAtSec` (its `iat`): the
 * TURN credential expires `turnTtlSec` later, by default together with the token. The calls API
 * (with the token) and the signal tier (in the `join` reply) both use this, so they agree.
 */
export function iceServersForToken(config: IceConfig, userId: string, issuedAtSec: number): IceServer[] {
  return iceServersFor(config, userId, issuedAtSec + config.turnTtlSec);
}

/** JSON Schema of the ice_servers list (for OpenAPI). */
export const ICE_SERVERS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object', required: ['urls'],
    properties: { urls: { type: 'array', items: { type: 'string' } }, username: { type: 'string' }, credential: { type: 'string' } },
  },
} as const;
