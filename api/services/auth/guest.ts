import { randomBytes } from 'node:crypto';
import { signToken, TOKEN_TTL_SEC, type KeyRing } from '../../../shared/tokens/index.js';
import type { GuestSessionsRepository } from '../../repositories/guest-sessions.js';
import type { RequestMeta } from './meta.js';

/** `POST /v1/auth/guest-session` body. */
export interface GuestSessionResult {
  guest_session_id: string;
  access_token: string;
  expires_in: number;
}

/** Guest sessions: a stored `gs_…` session and an access token with role `guest` for its 24 h lifetime. */
export class GuestService {
  constructor(private readonly deps: { keyRing: KeyRing; issuer: string; guests: GuestSessionsRepository }) {}

  async create(displayName: string | undefined, meta: RequestMeta): Promise<GuestSessionResult> {
    const id = `gs_${randomBytes(12).toString('hex')}`;
    const now = new Date();
    await this.deps.guests.create({ id, display_name: displayName ?? null, ip: meta.ip, created_at: now, expires_at: new Date(now.getTime() + TOKEN_TTL_SEC.guest * 1000) });
    const { token } = await signToken(this.deps.keyRing, { role: 'guest' }, { issuer: this.deps.issuer, audience: 'api', subject: id, ttlSec: TOKEN_TTL_SEC.guest });
    return { guest_session_id: id, access_token: token, expires_in: TOKEN_TTL_SEC.guest };
  }
}
