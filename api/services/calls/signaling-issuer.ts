import type { Peer } from '../../../shared/calls/index.js';
import type { Role } from '../../../shared/roles.js';
import { AUDIENCE, signToken, TOKEN_TTL_SEC, type KeyRing } from '../../../shared/tokens/index.js';
import { iceServersForToken, type IceConfig, type IceServer } from '../../../shared/ice/turn.js';

export interface SignalingGrant {
  signaling: { token: string; url: string; expires_in: number };
  ice_servers: IceServer[];
}

export interface SignalingIssuerOptions {
  keyRing: KeyRing;
  issuer: string;
  signalUrl: string;
  ice: IceConfig;
}

/** Mints the 5-minute signaling token for one participant of a call, with ICE servers whose TURN credential expires with it. */
export class SignalingIssuer {
  constructor(private readonly options: SignalingIssuerOptions) {}

  async grant(callId: string, userId: string, role: Role, peer: Peer): Promise<SignalingGrant> {
    const ttl = TOKEN_TTL_SEC.signaling;
    const { token, exp } = await signToken(this.options.keyRing, { role, call_id: callId, peer }, {
      issuer: this.options.issuer, audience: AUDIENCE.signal, subject: userId, ttlSec: ttl,
    });
    return {
      signaling: { token, url: this.options.signalUrl, expires_in: ttl },
      ice_servers: iceServersForToken(this.options.ice, userId, exp - ttl),
    };
  }
}
