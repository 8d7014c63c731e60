import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fundedMinutes } from '../../../api/services/payments/holds.js';
import { allocate } from '../../../api/services/payments/settlement.js';

describe('allocate (billed amount over the holds)', () => {
  it('fills the intents in creation order and reports what no hold covers', () => {
    expect(allocate(700, [{ pi: 'a', amount_minor: 500 }, { pi: 'b', amount_minor: 500 }])).toEqual({
      captures: [{ pi: 'a', amount_minor: 500 }, { pi: 'b', amount_minor: 200 }], uncovered: 0,
    });
    expect(allocate(0, [{ pi: 'a', amount_minor: 500 }])).toEqual({ captures: [{ pi: 'a', amount_minor: 0 }], uncovered: 0 });
    expect(allocate(1200, [{ pi: 'a', amount_minor: 1000 }])).toEqual({ captures: [{ pi: 'a', amount_minor: 1000 }], uncovered: 200 });
  });

  it('never captures more than an intent holds, and accounts for every unit', () => {
    fc.assert(fc.property(fc.nat(1e7), fc.array(fc.nat(1e6), { maxLength: 6 }), (billed, holds) => {
      const { captures, uncovered } = allocate(billed, holds.map((amount_minor, i) => ({ pi: `pi_${i}`, amount_minor })));
      return captures.every((c, i) => c.amount_minor <= holds[i]! && c.amount_minor >= 0)
        && captures.reduce((s, c) => s + c.amount_minor, 0) + uncovered === billed;
    }));
  });
});

describe('fundedMinutes', () => {
  it('counts whole minutes the authorization covers', () => {
    expect(fundedMinutes(1000, 250)).toBe(4);
    expect(fundedMinutes(999, 250)).toBe(3);
    expect(fundedMinutes(1000, 0)).toBe(0);
  });
});
