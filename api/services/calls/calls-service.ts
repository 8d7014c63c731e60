import type { Logger } from 'pino';
import { hostBusyError, isTerminal, peerOf, type Call, type CallStatus } from '../../../shared/calls/index.js';
import { AppError } from '../../../shared/errors/index.js';
import { newId } from '../../../shared/ids.js';
import { hasRole } from '../../../shared/roles.js';
import type { CallLinksRepository } from '../../repositories/call-links.js';
import type { CallsRepository } from '../../repositories/calls.js';
import { isAvailableNow } from '../availability/schedule.js';
import type { Caller, LinksService } from '../links/links-service.js';
import type { CallAnnouncer } from './announcer.js';
import type { HostPresence } from './presence.js';
import type { SignalingGrant, SignalingIssuer } from './signaling-issuer.js';

export interface CallsServiceOptions {
  maxDurationSec: number;
  ringTimeoutSec: number;
}

/** How a paid join secures its money (api/services/payments/holds.ts); absent: paid links are refused. */
export interface CallBilling {
  /** Places the hold; throws 402 `stripe_error` (refused) or 503 (no Stripe, Stripe down). */
  place(request: { callId: string; guestId: string; hostId: string; rate: { amount: number; currency: string }; paymentMethod: string }): Promise<{ id: string; paid_minutes_left: number }>;
  /** The caller's newest saved card (`pm_…`), used when a paid join names none. */
  savedPaymentMethod(userId: string): Promise<string | null>;
  /** The call exists: the payment is now held for it. */
  attached(payment: { id: string; paid_minutes_left: number }): Promise<void>;
  /** True when Stripe is configured. */
  readonly configured: boolean;
}

export interface JoinPayment {
  /** A Stripe PaymentMethod id (`pm_…`) from Stripe.js, or a test id such as `pm_card_visa`. */
  paymentMethodId?: string;
}

export interface HistoryFilter {
  status?: CallStatus;
  from?: Date;
  to?: Date;
}

/** Joining, host-joining, ending and reading calls; every state change goes through the shared CallStore. */
export class CallsService {
  constructor(
    private readonly deps: {
      calls: CallsRepository;
      links: CallLinksRepository;
      linksService: LinksService;
      presence: HostPresence;
      announcer: CallAnnouncer;
      issuer: SignalingIssuer;
      billing?: CallBilling;
      log: Logger;
      options: CallsServiceOptions;
    },
  ) {}

  /**
   * Opens a call on a link for the caller (guest or user). Refusals: unknown link `not_found`;
   * deleted/expired/used-up link `gone` (details.reason); own link, host unavailable or busy,
   * no rate: `conflict` with details.reason. A single-use link yields exactly one call however
   * many join at once.
   */
  async join(caller: Caller, shortCode: string, now: Date, pay: JoinPayment = {}): Promise<{ call: Call; paidMinutes: number | null } & SignalingGrant> {
    const { link, host } = await this.deps.linksService.resolve(shortCode, now);
    if (host.id === caller.userId) throw new AppError('conflict', { message: 'You cannot call your own link.', details: { reason: 'own_link' } });
    if (!isAvailableNow(host, now)) throw new AppError('conflict', { message: 'The host is not available right now.', details: { reason: 'host_unavailable' } });
    const rate = link.rate ?? host.rate;
    if (!rate) throw new AppError('conflict', { message: 'The host has not set a rate.', details: { reason: 'rate_not_set' } });
    if (await this.deps.calls.hostBusyWith(host.id)) throw hostBusyError();
    const paid = rate.amount > 0;
    if (paid && !this.deps.billing?.configured) {
      throw new AppError('service_unavailable', { message: 'This link is paid, and payments are not configured on this server; only free calls are available.', details: { payments: 'not_configured' } });
    }
    const paymentMethod = paid ? pay.paymentMethodId ?? await this.deps.billing!.savedPaymentMethod(caller.userId) : null;
    if (paid && !paymentMethod) {
      throw new AppError('validation_error', { message: 'A paid link needs a payment method: name one, or save a card first.', details: { payment_method_id: 'is required for a paid link' } });
    }
    if (link.single_use && !(await this.deps.links.claimSingleUse(link.id, now))) {
      throw new AppError('gone', { message: 'This single-use call link was already used.', details: { reason: 'used' } });
    }
    const callId = newId();
    let payment: { id: string; paid_minutes_left: number } | undefined;
    if (paid) {
      try {
        payment = await this.deps.billing!.place({ callId, guestId: caller.userId, hostId: host.id, rate, paymentMethod: paymentMethod! });
      } catch (err) {
        if (link.single_use) await this.deps.links.releaseSingleUse(link.id).catch(() => undefined);
        throw err;
      }
    }
    const online = await this.deps.presence.isOnline(host.id);
    const status: CallStatus = online ? 'ringing' : 'waiting';
    let call: Call;
    try {
      call = await this.deps.calls.create({
        id: callId, link_id: link.id, short_code: link.short_code, host_id: host.id, guest_id: caller.userId, guest_role: caller.role,
        status, end_reason: null, rate: { amount: rate.amount, currency: rate.currency },
        max_duration_sec: Math.min(link.max_duration_sec ?? this.deps.options.maxDurationSec, this.deps.options.maxDurationSec),
        created_at: now, ringing_at: online ? now : null, answered_at: null, ended_at: null, media_up_at: null, media_up_by: null, ended_by: null, updated_at: now, version: 0,
      });
    } catch (err) {
      // A hold placed for it stays `placing`; the billing sweep releases it.
      if (link.single_use) await this.deps.links.releaseSingleUse(link.id).catch(() => undefined);
      throw err;
    }
    if (payment) await this.deps.billing!.attached(payment);
    this.deps.log.info({ call: call.id, link: link.id, status, paid }, 'call created');
    return { call, paidMinutes: payment ? payment.paid_minutes_left : null, ...(await this.deps.issuer.grant(call.id, caller.userId, caller.role, 'guest')) };
  }

  /** A call the caller takes part in (an admin: any call); anything else is `not_found`. */
  async get(caller: Caller, callId: string): Promise<Call> {
    const call = await this.deps.calls.get(callId);
    if (!call || (!peerOf(call, caller.userId) && !hasRole(caller.role, 'admin'))) throw new AppError('not_found', { message: 'Call not found.' });
    return call;
  }

  private async participantCall(caller: Caller, callId: string, only?: 'host'): Promise<{ call: Call; peer: 'host' | 'guest' }> {
    const call = await this.deps.calls.get(callId);
    const peer = call ? peerOf(call, caller.userId) : null;
    if (!call || !peer || (only && peer !== only)) throw new AppError('not_found', { message: 'Call not found.' });
    return { call, peer };
  }

  private assertOpen(call: Call): void {
    if (isTerminal(call.status)) throw new AppError('conflict', { message: `The call is ${call.status}.`, details: { reason: 'call_over', status: call.status } });
  }

  /** Refuses `host_busy` when the host of `call` is in another call (one active call per host). */
  private async assertHostFree(call: Call): Promise<void> {
    const busyWith = await this.deps.calls.hostBusyWith(call.host_id);
    if (busyWith !== null && busyWith !== call.id) throw hostBusyError();
  }

  /** The link's host takes the call: a signaling token with `peer: host`; `host_busy` while the host is in another call. */
  async hostJoin(caller: Caller, callId: string): Promise<{ call: Call } & SignalingGrant> {
    const { call } = await this.participantCall(caller, callId, 'host');
    this.assertOpen(call);
    await this.assertHostFree(call);
    return { call, ...(await this.deps.issuer.grant(call.id, caller.userId, caller.role, 'host')) };
  }

  /** A fresh signaling token for a participant of a call that is not over (reconnects); the host's, as for host-join. */
  async reissue(caller: Caller, callId: string): Promise<{ call: Call } & SignalingGrant> {
    const { call, peer } = await this.participantCall(caller, callId);
    this.assertOpen(call);
    if (peer === 'host') await this.assertHostFree(call);
    return { call, ...(await this.deps.issuer.grant(call.id, caller.userId, caller.role, peer)) };
  }

  /** Ends the call with `hangup` and announces it to the signal tier; a call already over is returned as it is (idempotent). */
  async end(caller: Caller, callId: string, now: Date): Promise<Call> {
    const { call, peer } = await this.participantCall(caller, callId);
    if (isTerminal(call.status)) return call;
    try {
      const { call: ended, changed } = await this.deps.calls.transition(call.id, 'ended', { reason: 'hangup', by: peer, at: now });
      if (changed) await this.deps.announcer.announce(ended);
      return ended;
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
      const current = await this.deps.calls.get(call.id);
      if (current && isTerminal(current.status)) return current;
      throw err;
    }
  }

  history(caller: Caller, filter: HistoryFilter, skip: number, limit: number): Promise<{ items: Call[]; total: number }> {
    return this.deps.calls.history({ participantId: caller.userId, ...filter, skip, limit });
  }

  /** Marks waiting/ringing calls older than the ring timeout `missed` (reason `timeout`) and announces each; returns how many this caller moved. */
  async sweepRingTimeouts(now: Date, batch = 100): Promise<number> {
    const before = new Date(now.getTime() - this.deps.options.ringTimeoutSec * 1000);
    let moved = 0;
    for (const call of await this.deps.calls.findStaleRinging(before, batch)) {
      try {
        const { call: missed, changed } = await this.deps.calls.transition(call.id, 'missed', { reason: 'timeout', by: 'system', at: now });
        if (!changed) continue;
        moved++;
        await this.deps.announcer.announce(missed);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
      }
    }
    if (moved > 0) this.deps.log.info({ moved }, 'ring timeouts swept');
    return moved;
  }
}
