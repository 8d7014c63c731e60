import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { iceServersFor, turnCredential } from '../../../api/services/ice/turn.js';

const SECRET = 'north-turn-shared-secret-0123456789';

/**
 * What coturn does with `use-auth-secret` + `static-auth-secret` for a STUN request carrying
 * USERNAME and MESSAGE-INTEGRITY (RFC 5389 long-term credentials, TURN REST API draft):
 * the username's leading timestamp must be in the future, the password is
 * base64(HMAC-SHA1(secret, username)), the integrity key MD5(username:realm:password).
 */
function coturnAccepts(secret: string, realm: string, message: Buffer, nowSec: number): boolean {
  const attrs = new Map<number, Buffer>();
  let offset = 20;
  let integrityAt = -1;
  while (offset + 4 <= message.length) {
    const type = message.readUInt16BE(offset);
    const len = message.readUInt16BE(offset + 2);
    if (type === 0x0008) integrityAt = offset;
    attrs.set(type, message.subarray(offset + 4, offset + 4 + len));
    offset += 4 + Math.ceil(len / 4) * 4;
  }
  const username = attrs.get(0x0006)?.toString('utf8');
  const integrity = attrs.get(0x0008);
  if (!username || !integrity || integrityAt < 0) return false;
  const expiry = Number(username.split(':')[0]);
  if (!Number.isInteger(expiry) || expiry < nowSec) return false;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  const key = createHash('md5').update(`${username}:${realm}:${password}`).digest();
  const signed = Buffer.from(message.subarray(0, integrityAt));
  signed.writeUInt16BE(integrityAt + 24 - 20, 2);
  return createHmac('sha1', key).update(signed).digest().equals(integrity);
}

function attribute(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** A client's Allocate request signed with the credential it was handed. */
function signedAllocate(username: string, credential: string, realm: string): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0003, 0);
  header.writeUInt32BE(0x2112a442, 4);
  header.fill(7, 8, 20);
  const body = Buffer.concat([attribute(0x0006, Buffer.from(username)), attribute(0x0014, Buffer.from(realm)), attribute(0x0015, Buffer.from('nonce123'))]);
  const pre = Buffer.concat([header, body]);
  pre.writeUInt16BE(body.length + 24, 2);
  const key = createHash('md5').update(`${username}:${realm}:${credential}`).digest();
  const mac = createHmac('sha1', key).update(pre).digest();
  return Buffer.concat([pre, attribute(0x0008, mac)]);
}

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
});
