import { createHash, createHmac } from 'node:crypto';

/**
 * What coturn does with `use-auth-secret` + `static-auth-secret` for a STUN request carrying
 * USERNAME and MESSAGE-INTEGRITY (RFC 5389 long-term credentials, TURN REST API draft):
 * the username's leading timestamp must be in the future, the password is
 * base64(HMAC-SHA1(secret, username)), the integrity key MD5(username:realm:password).
 */
export function coturnAccepts(secret: string, realm: string, message: Buffer, nowSec: number): boolean {
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
export function signedAllocate(username: string, credential: string, realm: string): Buffer {
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
