import { createHmac } from 'node:crypto';

/** One entry of the WebRTC `RTCConfiguration.iceServers` list. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceConfig {
  stunUrls: readonly string[];
  turnUrls: readonly string[];
  turnSecret?: string | undefined;
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
export function iceServersFor(config: IceConfig, userId: string, expiresAtSec: number): IceServer[] {
  const servers: IceServer[] = [];
  if (config.stunUrls.length > 0) servers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length > 0 && config.turnSecret) {
    servers.push({ urls: [...config.turnUrls], ...turnCredential(config.turnSecret, userId, expiresAtSec) });
  }
  return servers;
}

/** JSON Schema of the ice_servers list (for OpenAPI). */
export const ICE_SERVERS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object', required: ['urls'],
    properties: { urls: { type: 'array', items: { type: 'string' } }, username: { type: 'string' }, credential: { type: 'string' } },
  },
} as const;
