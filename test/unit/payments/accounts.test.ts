import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitIncrement, splitMinute, splitProportionally } from '../../../api/services/payments/accounts.js';
import { checkBalanced } from '../../../api/services/payments/ledger.js';

describe('splitMinute', () => {
  it('rounds the fee down (in the host\'s favour) and gives the host the rest', () => {
    expect(splitMinute(199, 1500)).toEqual({ gross: 199, fee: 29, net: 170 });
    expect(splitMinute(100, 0)).toEqual({ gross: 100, fee: 0, net: 100 });
    expect(splitMinute(100, 10000)).toEqual({ gross: 100, fee: 100, net: 0 });
  });

  it('always adds up exactly, for any rate and fee', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 0, max: 10000 }), (rate, bps) => {
      const s = splitMinute(rate, bps);
      return s.fee + s.net === rate && s.fee >= 0 && s.net >= 0 && s.fee <= rate;
    }));
  });

  it('refuses fractions, negatives and fees beyond 100 %', () => {
    expect(() => splitMinute(1.5, 100)).toThrow(TypeError);
    expect(() => splitMinute(-1, 100)).toThrow(TypeError);
    expect(() => splitMinute(100, 10001)).toThrow(TypeError);
  });
});

describe('splitProportionally', () => {
  it('splits a partial refund so the parts add up and never exceed the original', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 10000 }), fc.double({ min: 0, max: 1, noNaN: true }), (gross, bps, share) => {
      const total = splitMinute(gross, bps);
      const amount = Math.floor(gross * share);
      const part = splitProportionally(amount, total);
      return part.fee + part.net === amount && part.fee <= total.fee && part.fee >= 0;
    }));
  });
});

describe('checkBalanced', () => {
  const ok = { id: 'minute:c1:0', kind: 'minute', currency: 'USD', postings: [{ account: 'guest:g1', amount_minor: 100 }, { account: 'platform:fees', amount_minor: -100 }] };

  it('accepts a balanced transaction', () => {
    expect(() => checkBalanced(ok)).not.toThrow();
  });

  it.each([
    ['unbalanced', { ...ok, postings: [{ account: 'guest:g1', amount_minor: 100 }, { account: 'platform:fees', amount_minor: -99 }] }],
    ['one posting', { ...ok, postings: [{ account: 'guest:g1', amount_minor: 0 }] }],
    ['a zero posting', { ...ok, postings: [{ account: 'guest:g1', amount_minor: 0 }, { account: 'platform:fees', amount_minor: 0 }] }],
    ['a fraction', { ...ok, postings: [{ account: 'guest:g1', amount_minor: 0.5 }, { account: 'platform:fees', amount_minor: -0.5 }] }],
    ['an unknown account', { ...ok, postings: [{ account: 'bank:x', amount_minor: 1 }, { account: 'platform:fees', amount_minor: -1 }] }],
    ['an account twice', { ...ok, postings: [{ account: 'platform:fees', amount_minor: 1 }, { account: 'platform:fees', amount_minor: -1 }] }],
    ['a lower-case currency', { ...ok, currency: 'usd' }],
    ['a bad id', { ...ok, id: 'no key' }],
  ])('refuses %s', (_name, request) => {
    expect(() => checkBalanced(request)).toThrow(TypeError);
  });
});

describe('splitIncrement', () => {
  it('adds up to the original split over any series of partial reversals', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e7 }), fc.integer({ min: 0, max: 10000 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), (gross, bps, cuts) => {
      const total = splitMinute(gross, bps);
      const points = [...new Set([0, ...cuts.map((c) => Math.floor(c * gross)), gross])].sort((a, b) => a - b);
      let fee = 0; let net = 0;
      for (let i = 1; i < points.length; i++) {
        const part = splitIncrement(points[i - 1]!, points[i]! - points[i - 1]!, total);
        if (part.fee < 0 || part.net < 0) return false;
        fee += part.fee; net += part.net;
      }
      return fee === total.fee && net === total.net;
    }));
  });
});
