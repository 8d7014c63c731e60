import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assertIceConfig, iceServersFor, iceServersForToken, turnCredential } from '../../../shared/ice/turn.js';
import { coturnAccepts, signedAllocate } from '../../helpers/coturn.js';

const SECRET = 'north-turn-shared-secret-0123456789';

describe('TURN REST API credentials', () => {
  it('are `<expiry>:<user>` with base64 HMAC-SHA1 of the shared secret', () => {
    const { username, credential } = turnCredential(SECRET, '01USER', 1_900_000_000);
    expect(username).toBe('1900000000:01USER');
    expect(credential).toBe(createHmac('sha1', SECRET).update('1900000000:01USER').digest('base64'));
  });

  it('pass coturn\'s check until they expire, and fail with another secret', () => {
    const expiry = 1_900_000_300;
    const { username, credential } = turnCredential(SECRET, 'gs_abc', expiry);
    const message = signedAllocate(username, credential, 'vidivo');
    expect(coturnAccepts(SECRET, 'vidivo', message, expiry - 300)).toBe(true);
    expect(coturnAccepts(SECRET, 'vidivo', message, expiry + 1)).toBe(false);
    expect(coturnAccepts('another-secret-0123456789abcdef', 'vidivo', message, expiry - 300)).toBe(false);
  });

  it('lists STUN as is and TURN only with a secret', () => {
    expect(iceServersFor({ stunUrls: ['stun:s:3478'], turnUrls: ['turn:t:3478'] }, 'u', 10)).toEqual([{ urls: ['stun:s:3478'] }]);
    const servers = iceServersFor({ stunUrls: [], turnUrls: ['turn:t:3478', 'turns:t:5349'], turnSecret: SECRET }, 'u', 10);
    expect(servers).toEqual([{ urls: ['turn:t:3478', 'turns:t:5349'], username: '10:u', credential: turnCredential(SECRET, 'u', 10).credential }]);
  });

  it('expire TURN_CREDENTIAL_TTL_SEC after the token was issued (the token\'s own expiry by default)', () => {
    const config = { stunUrls: ['stun:s:3478'], turnUrls: ['turn:t:3478'], turnSecret: SECRET, turnTtlSec: 300 };
    const [stun, turn] = iceServersForToken(config, 'u1', 1_900_000_000);
    expect(stun).toEqual({ urls: ['stun:s:3478'] });
    expect(turn).toEqual({ urls: ['turn:t:3478'], ...turnCredential(SECRET, 'u1', 1_900_000_300) });
    expect(iceServersForToken({ ...config, turnTtlSec: 3600 }, 'u1', 1_900_000_000)[1]?.username).toBe('1900003600:u1');
  });

  it('refuse TURN URLs without a secret', () => {
    expect(() => assertIceConfig({ stunUrls: [], turnUrls: ['turn:t:3478'], turnTtlSec: 300 })).toThrow(TypeError);
    expect(() => assertIceConfig({ stunUrls: [], turnUrls: ['turn:t:3478'], turnSecret: SECRET, turnTtlSec: 300 })).not.toThrow();
    expect(() => assertIceConfig({ stunUrls: ['stun:s'], turnUrls: [], turnTtlSec: 300 })).not.toThrow();
  });
});
