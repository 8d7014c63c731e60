import type Stripe from 'stripe';
import type { Logger } from 'pino';
import type { BillingReversals, ReversalResult } from './reversals.js';
import { callStripe, type StripeGateway } from './stripe-client.js';
import type { StripeEventHandler } from './webhooks.js';

const MAX_REFUNDS = 100;

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

/** Throws on `not_settled` so the webhook answers 503 and Stripe delivers the event again later. */
function settledOrRetry(result: ReversalResult, event: Stripe.Event): void {
  if (result.outcome === 'not_settled') throw new Error(`event ${event.id}: payment not settled yet; retry later`);
}

/**
 * Stripe refund and dispute events → billing's reversals (docs/payments.md, "Refunds and
 * disputes"): `charge.refunded` reverses each refund object once (the charge's `refunds` list
 * when the event carries it, else the list read from Stripe), `charge.dispute.created` the
 * disputed amount, `charge.dispute.closed` with status `won` reinstates it. Ledger keys are the
 * Stripe object ids, so redeliveries and any order are harmless.
 */
export function reversalWebhookHandler(deps: { reversals: BillingReversals; gateway: StripeGateway; log: Logger }): StripeEventHandler {
  return {
    types: ['charge.refunded', 'charge.dispute.created', 'charge.dispute.closed'],
    async handle(event) {
      if (event.type === 'charge.refunded') {
        const charge = event.data.object as Stripe.Charge;
        const paymentIntentId = idOf(charge.payment_intent);
        if (!paymentIntentId) return;
        let refunds = charge.refunds?.data;
        if (!refunds && deps.gateway.configured) {
          const stripe = deps.gateway.stripe;
          refunds = (await callStripe(() => stripe.refunds.list({ charge: charge.id, limit: MAX_REFUNDS }))).data;
        }
        for (const refund of refunds ?? []) {
          if (refund.status === 'failed' || refund.status === 'canceled') continue;
          const result = await deps.reversals.refund({ paymentIntentId, objectId: refund.id, amountMinor: refund.amount, currency: refund.currency.toUpperCase() });
          if (result.outcome === 'unknown_payment') return;
          settledOrRetry(result, event);
        }
        return;
      }
      const dispute = event.data.object as Stripe.Dispute;
      const paymentIntentId = idOf(dispute.payment_intent);
      if (!paymentIntentId) return;
      const input = { paymentIntentId, objectId: dispute.id, currency: dispute.currency.toUpperCase() };
      if (event.type === 'charge.dispute.created') {
        settledOrRetry(await deps.reversals.dispute({ ...input, amountMinor: dispute.amount }), event);
      } else if (dispute.status === 'won') {
        settledOrRetry(await deps.reversals.disputeWon(input), event);
      } else {
        deps.log.info({ event: event.id, dispute: dispute.id, status: dispute.status }, 'dispute closed');
      }
    },
  };
}
