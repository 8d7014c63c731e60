import { expect } from 'vitest';
import type { LedgerService } from '../../api/services/payments/ledger.js';

/** Asserts the invariant of docs/payments.md: the whole ledger sums to zero in every currency. */
export async function expectLedgerBalanced(ledger: LedgerService): Promise<void> {
  const totals = await ledger.totals();
  expect(totals.size).toBeGreaterThan(0);
  for (const [currency, total] of totals) expect({ currency, total }).toEqual({ currency: expect.stringMatching(/^[A-Z]{3}$/), total: 0 });
}
