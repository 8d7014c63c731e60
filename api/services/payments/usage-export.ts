import type { Db, Filter } from 'mongodb';
import { callFromDocument, type Call, type CallDocument } from '../../../shared/calls/index.js';
import type { BilledMinutesRepository } from '../../repositories/billed-minutes.js';
import type { CallPaymentsRepository } from '../../repositories/call-payments.js';
import { csvLine } from './csv.js';
import { EXPORT_MAX_ROWS } from './history.js';

export interface UsageFilter {
  from: Date;
  to: Date;
  /** Calls of this host only; unset (admins) for every host. */
  hostId?: string;
}

const BATCH = 500;

export const USAGE_COLUMNS = [
  'call_id', 'created_at', 'active_at', 'ended_at', 'status', 'end_reason', 'host_id', 'guest_id', 'active_seconds', 'participant_seconds',
  'billed_minutes', 'reconnecting_minutes', 'currency', 'rate_minor', 'billed_minor', 'fee_minor', 'host_earning_minor', 'captured_minor', 'payment_state',
] as const;

/**
 * Per-call usage as CSV: one row per call created in [from, to), oldest first. Participant-seconds
 * are what the server knows: both peers from answer to end (active seconds × 2); reconnecting
 * minutes are counted separately, not subtracted.
 */
export class UsageExportService {
  constructor(private readonly deps: { db: Db; payments: CallPaymentsRepository; billed: BilledMinutesRepository }) {}

  async *csv(filter: UsageFilter): AsyncGenerator<string> {
    yield csvLine([...USAGE_COLUMNS]);
    const calls = this.deps.db.collection<CallDocument>('calls');
    const query: Filter<CallDocument> = { created_at: { $gte: filter.from, $lt: filter.to }, ...(filter.hostId ? { host_id: filter.hostId } : {}) };
    for (let skip = 0; skip < EXPORT_MAX_ROWS; skip += BATCH) {
      const docs = await calls.find(query).sort({ created_at: 1, _id: 1 }).skip(skip).limit(BATCH).toArray();
      const batch = docs.map(callFromDocument);
      for (const line of await this.rows(batch)) yield line;
      if (docs.length < BATCH) return;
    }
  }

  private async rows(batch: Call[]): Promise<string[]> {
    if (batch.length === 0) return [];
    const ids = batch.map((c) => c.id);
    const [payments, minutes] = await Promise.all([
      this.deps.payments.collection.find({ call_id: { $in: ids } }).toArray(),
      this.deps.billed.collection.find({ call_id: { $in: ids }, status: { $in: ['billed', 'reconnecting'] } })
        .project<{ call_id: string; status: string; gross_minor: number; fee_minor: number; net_minor: number }>({ call_id: 1, status: 1, gross_minor: 1, fee_minor: 1, net_minor: 1 }).toArray(),
    ]);
    const paymentOf = new Map(payments.map((p) => [p.call_id, p]));
    const totals = new Map<string, { billed: number; reconnecting: number; gross: number; fee: number; net: number }>();
    for (const m of minutes) {
      const t = totals.get(m.call_id) ?? { billed: 0, reconnecting: 0, gross: 0, fee: 0, net: 0 };
      if (m.status === 'billed') {
        t.billed++;
        t.gross += m.gross_minor;
        t.fee += m.fee_minor;
        t.net += m.net_minor;
      } else t.reconnecting++;
      totals.set(m.call_id, t);
    }
    return batch.map((call) => {
      const t = totals.get(call.id) ?? { billed: 0, reconnecting: 0, gross: 0, fee: 0, net: 0 };
      const payment = paymentOf.get(call.id);
      const active = call.answered_at && call.ended_at ? Math.max(0, Math.floor((call.ended_at.getTime() - call.answered_at.getTime()) / 1000)) : 0;
      return csvLine([
        call.id, call.created_at.toISOString(), call.answered_at?.toISOString() ?? null, call.ended_at?.toISOString() ?? null, call.status, call.end_reason,
        call.host_id, call.guest_id, active, active * 2, t.billed, t.reconnecting, payment?.currency ?? call.rate.currency, call.rate.amount,
        t.gross, t.gross - t.net, t.net, payment?.captured_minor ?? 0, payment?.state ?? null,
      ]);
    });
  }
}
