import { SignJWT } from 'jose';
import { newId } from '../ids.js';
import type { Audience } from './claims.js';
import type { KeyRing } from './keys.js';

export interface SignOptions {
  issuer: string;
  audience: Audience;
  subject: string;
  ttlSec: number;
  /** Seconds since the epoch; default now. */
  now?: number;
}

/** Signs `claims` with the ring's current key (RS256, `kid` header, fresh `jti`). */
export async function signToken(ring: KeyRing, claims: Record<string, unknown>, options: SignOptions): Promise<{ token: string; jti: string; exp: number }> {
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const jti = newId();
  const exp = iat + options.ttlSec;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: ring.current.kid, typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(ring.current.privateKey);
  return { token, jti, exp };
}
