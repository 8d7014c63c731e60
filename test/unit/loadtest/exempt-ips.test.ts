import { describe, expect, it } from 'vitest';
import { ipMatcher } from '../../../api/http/rate-limit.js';

describe('rate-limit exemptions (RATE_LIMIT_EXEMPT_IPS)', () => {
  it('matches listed addresses and CIDRs, including IPv4-mapped IPv6 clients', () => {
    const exempt = ipMatcher(['127.0.0.1', '10.1.0.0/16', '2001:db8::/32']);
    expect(exempt('127.0.0.1')).toBe(true);
    expect(exempt('::ffff:127.0.0.1')).toBe(true);
    expect(exempt('10.1.200.3')).toBe(true);
    expect(exempt('10.2.0.1')).toBe(false);
    expect(exempt('127.0.0.2')).toBe(false);
    expect(exempt('2001:db8::5')).toBe(true);
    expect(exempt('2001:db9::5')).toBe(false);
  });

  it('exempts nobody by default and refuses malformed entries', () => {
    expect(ipMatcher([])('127.0.0.1')).toBe(false);
    expect(() => ipMatcher(['10.0.0.0/33'])).toThrow(TypeError);
    expect(() => ipMatcher(['not-an-ip'])).toThrow(TypeError);
  });
});
