import type Stripe from 'stripe';
import type { Logger } from 'pino';
import type { ConnectAccount, ConnectAccountsRepository, AccountState } from '../../repositories/connect-accounts.js';
import { callStripe, requireStripe, stripeIdempotencyKey, type StripeGateway } from './stripe-client.js';
import type { StripeEventHandler } from './webhooks.js';

export type ConnectStatus = 'not_started' | 'onboarding' | 'restricted' | 'active';

export interface ConnectStatusView {
  status: ConnectStatus;
  account_id: string | null;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  requirements_due: string[];
  updated_at: string | null;
}

export interface AccountLinkView {
  url: string;
  expires_at: string;
  account_id: string;
}

const MAX_REQUIREMENTS = 50;

function stateOf(account: Stripe.Account, version: number): AccountState {
  return {
    charges_enabled: account.charges_enabled === true,
    payouts_enabled: account.payouts_enabled === true,
    details_submitted: account.details_submitted === true,
    requirements_due: (account.requirements?.currently_due ?? []).slice(0, MAX_REQUIREMENTS).map(String),
    stripe_version: version,
  };
}

/** `active`: can be paid out; `restricted`: submitted but Stripe needs more; `onboarding`: not submitted. */
export function connectStatusOf(account: ConnectAccount | null): ConnectStatus {
  if (!account) return 'not_started';
  if (account.payouts_enabled) return 'active';
  return account.details_submitted ? 'restricted' : 'onboarding';
}

export function connectStatusView(account: ConnectAccount | null): ConnectStatusView {
  return {
    status: connectStatusOf(account),
    account_id: account?.account_id ?? null,
    charges_enabled: account?.charges_enabled ?? false,
    payouts_enabled: account?.payouts_enabled ?? false,
    details_submitted: account?.details_submitted ?? false,
    requirements_due: account?.requirements_due ?? [],
    updated_at: account?.updated_at.toISOString() ?? null,
  };
}

/**
 * Host onboarding to Stripe Connect: one Express account per host (created on first request,
 * with a Stripe idempotency key derived from the host id, so a race or retry cannot open two),
 * account links to Stripe's hosted onboarding, and the account's state kept current by
 * `account.updated` webhooks (an older event never overwrites newer state).
 */
export class ConnectService {
  constructor(private readonly deps: {
    gateway: StripeGateway;
    accounts: ConnectAccountsRepository;
    country: string;
    returnUrl: string;
    refreshUrl: string;
    log: Logger;
    now?: () => Date;
  }) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async status(hostId: string): Promise<ConnectStatusView> {
    return connectStatusView(await this.deps.accounts.findByHost(hostId));
  }

  /** The host's account, created at Stripe on first use. */
  async ensureAccount(hostId: string, email: string | undefined): Promise<ConnectAccount> {
    const existing = await this.deps.accounts.findByHost(hostId);
    if (existing) return existing;
    const stripe = requireStripe(this.deps.gateway);
    const account = await callStripe(() => stripe.accounts.create({
      type: 'express', country: this.deps.country,
      ...(email ? { email } : {}),
      capabilities: { transfers: { requested: true } },
      metadata: { vidivo_user_id: hostId },
    }, { idempotencyKey: stripeIdempotencyKey(hostId, 'connect_account', 'account') }));
    const at = this.now();
    return this.deps.accounts.insertOrGet({
      host_id: hostId, account_id: account.id, ...stateOf(account, account.created ?? 0), created_at: at, updated_at: at,
    });
  }

  /** A fresh onboarding link (single use, short-lived at Stripe) for the host's account. */
  async accountLink(hostId: string, email: string | undefined): Promise<AccountLinkView> {
    const account = await this.ensureAccount(hostId, email);
    const stripe = requireStripe(this.deps.gateway);
    const link = await callStripe(() => stripe.accountLinks.create({
      account: account.account_id, type: 'account_onboarding', return_url: this.deps.returnUrl, refresh_url: this.deps.refreshUrl,
    }));
    return { url: link.url, expires_at: new Date(link.expires_at * 1000).toISOString(), account_id: account.account_id };
  }

  /** The connected account payouts go to, or null when the host cannot be paid out yet. */
  async payableAccount(hostId: string): Promise<ConnectAccount | null> {
    const account = await this.deps.accounts.findByHost(hostId);
    return account && account.payouts_enabled ? account : null;
  }

  /** `account.updated`: stores the account's new state unless a newer one is stored. */
  webhookHandler(): StripeEventHandler {
    return {
      types: ['account.updated'],
      handle: async (event) => {
        const account = event.data.object as Stripe.Account;
        const applied = await this.deps.accounts.applyState(account.id, stateOf(account, event.created), this.now());
        if (!applied) this.deps.log.info({ event: event.id, account: account.id }, 'account.updated not applied (unknown account or older than stored state)');
      },
    };
  }
}
