import { defineSettings } from '../setting.js';

export const billingSettings = defineSettings([
  { env: 'BILLING_POLL_MS', key: 'billing.pollMs', schema: { type: 'integer', minimum: 20, maximum: 60000 }, default: 1000, doc: 'How often each API process\'s billing worker looks for calls to settle and due retries; new minutes are looked for at least every 200 ms (and at once while batches come full).' },
  { env: 'BILLING_BATCH', key: 'billing.batch', schema: { type: 'integer', minimum: 1, maximum: 5000 }, default: 200, doc: 'Most minutes (and settlements) one pass of the billing worker handles.' },
  { env: 'BILLING_EXTEND_AT_MINUTES', key: 'billing.extendAtMinutes', schema: { type: 'integer', minimum: 1, maximum: 240 }, default: 3, doc: 'The hold is extended (by BILLING_HOLD_MINUTES) once this few paid minutes or fewer are left on it.' },
  { env: 'BILLING_SETTLE_DELAY_MS', key: 'billing.settleDelayMs', schema: { type: 'integer', minimum: 0, maximum: 600000 }, default: 10000, doc: 'How long after a call ends its payment is settled, so minutes still on their way from the signal tier are applied first.' },
  { env: 'BILLING_RETRY_MAX_MS', key: 'billing.retryMaxMs', schema: { type: 'integer', minimum: 100, maximum: 3600000 }, default: 300000, doc: 'Longest wait between two attempts of a capture or release that failed (the wait doubles from BILLING_POLL_MS up to this).' },
]);
