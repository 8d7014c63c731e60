import { CompactSign } from 'jose';
import type { Collection, Db } from 'mongodb';
import { AppError } from '../../../shared/errors/index.js';
import { isTerminal, type Call } from '../../../shared/calls/index.js';
import type { KeyRing } from '../../../shared/tokens/index.js';
import type { BilledMinutesRepository } from '../../repositories/billed-minutes.js';
import type { CallPayment, CallPaymentsRepository } from '../../repositories/call-payments.js';
import { isDuplicateKey } from '../../repositories/errors.js';

/** The signed statement of one finished call (docs/payments.md "Call records"). */
export interface CallRecord {
  type: 'vidivo.call_record';
  version: 1;
  iss: string;
  call_id: string;
  host_id: string;
  guest_id: string;
  status: string;
  times: {
    joined_at: string;
    active_at: string | null;
    /** When media came up: the origin of the billing clock (null: it never did; nothing was billed). */
    media_up_at: string | null;
    /** Minutes not billed because a peer was reconnecting at their tick (`at`: when the minute ended). */
    reconnecting: Array<{ minute: number; at: string }>;
    ended_at: string | null;
  };
  /** Whose report set media_up_at: `host`, `guest`, or `system` (no report within the grace: the clock started at active_at). */
  media_up_by: string | null;
  /** Who ended the call (`host`, `guest`, `system`; end_reason says why); null for calls stored before it was recorded. */
  ended_by: string | null;
  end_reason: string | null;
  rate: { amount_minor: number; currency: string };
  billed_minutes: number;
  amounts: { currency: string; billed_minor: number; captured_minor: number; written_off_minor: number; fee_minor: number; host_earning_minor: number };
  issued_at: string;
}

interface RecordDocument { _id: string; record: CallRecord; jws: string; kid: string; created_at: Date }

/** A payment still moving money; its record waits until it is settled (or failed before any minute). */
const FINAL_PAYMENT_STATES = new Set(['settled', 'failed']);

const iso = (d: Date | null) => d?.toISOString() ?? null;

/**
 * Builds a call's record the first time it is asked for after the call is final (terminal and
 * its payment settled), signs it (compact JWS, RS256, the ring's current `kid`) and stores it in
 * `call_records` (first writer wins); every later read returns the stored bytes unchanged, so
 * refunds, disputes or key rotations never alter a record.
 */
export class CallRecordsService {
  private readonly records: Collection<RecordDocument>;

  constructor(private readonly deps: {
    db: Db; payments: CallPaymentsRepository; billed: BilledMinutesRepository; ring: () => KeyRing; issuer: string; now?: () => Date;
  }) {
    this.records = deps.db.collection<RecordDocument>('call_records');
  }

  /** The stored record of `call`, making it when the call is final; `conflict` while it is not. */
  async recordOf(call: Call): Promise<{ record: CallRecord; jws: string }> {
    const stored = await this.records.findOne({ _id: call.id });
    if (stored) return { record: stored.record, jws: stored.jws };
    if (!isTerminal(call.status)) throw new AppError('conflict', { message: 'The call is not over; its record is made when it ends.' });
    const payment = await this.deps.payments.byCall(call.id);
    if (payment && !FINAL_PAYMENT_STATES.has(payment.state)) throw new AppError('conflict', { message: 'The call is being settled; its record is made once it is.' });
    const record = await this.build(call, payment);
    const ring = this.deps.ring();
    const key = ring.current;
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(record)))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'vidivo-call-record+jws', cty: 'json' })
      .sign(key.privateKey);
    try {
      await this.records.insertOne({ _id: call.id, record, jws, kid: key.kid, created_at: this.now() });
      return { record, jws };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = (await this.records.findOne({ _id: call.id }))!;
      return { record: winner.record, jws: winner.jws };
    }
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  private async build(call: Call, payment: CallPayment | null): Promise<CallRecord> {
    const minutes = await this.deps.billed.ofCall(call.id);
    const billed = minutes.filter((m) => m.status === 'billed');
    const sum = (key: 'gross_minor' | 'fee_minor' | 'net_minor') => billed.reduce((s, m) => s + m[key], 0);
    const gross = payment?.state === 'settled' ? payment.billed_minor : sum('gross_minor');
    const net = payment?.state === 'settled' ? payment.net_minor : sum('net_minor');
    return {
      type: 'vidivo.call_record', version: 1, iss: this.deps.issuer,
      call_id: call.id, host_id: call.host_id, guest_id: call.guest_id, status: call.status,
      times: {
        joined_at: call.created_at.toISOString(), active_at: iso(call.answered_at), media_up_at: iso(call.media_up_at),
        reconnecting: minutes.filter((m) => m.status === 'reconnecting').map((m) => ({ minute: m.minute, at: m.at.toISOString() })),
        ended_at: iso(call.ended_at),
      },
      media_up_by: call.media_up_by, ended_by: call.ended_by, end_reason: call.end_reason,
      rate: { amount_minor: call.rate.amount, currency: call.rate.currency },
      billed_minutes: payment?.state === 'settled' ? payment.billed_minutes : billed.length,
      amounts: {
        currency: payment?.currency ?? call.rate.currency, billed_minor: gross,
        captured_minor: payment?.captured_minor ?? 0, written_off_minor: payment?.written_off_minor ?? 0,
        fee_minor: gross - net, host_earning_minor: net,
      },
      issued_at: this.now().toISOString(),
    };
  }
}
