import type { LedgerTransaction } from '../../repositories/ledger.js';
import { Accounts } from './accounts.js';
import { csvLine } from './csv.js';
import type { LedgerService } from './ledger.js';

/** What a history row means to the caller, by ledger kind (per-minute rows are not listed). */
const KIND_VIEW: Record<string, { type: string; status: string }> = {
  capture: { type: 'charge', status: 'succeeded' },
  write_off: { type: 'charge', status: 'failed' },
  earning_release: { type: 'earning', status: 'available' },
  refund: { type: 'refund', status: 'reversed' },
  dispute: { type: 'dispute', status: 'reversed' },
  dispute_won: { type: 'dispute', status: 'reinstated' },
  payout: { type: 'payout', status: 'requested' },
  payout_paid: { type: 'payout', status: 'paid' },
  payout_failed: { type: 'payout', status: 'failed' },
};

export const HISTORY_STATUSES = [...new Set(Object.values(KIND_VIEW).map((v) => v.status))].sort();
export type HistoryStatus = (typeof HISTORY_STATUSES)[number];

export interface HistoryFilter {
  from?: Date;
  to?: Date;
  status?: string;
  callId?: string;
}

export interface HistoryRow {
  id: string;
  type: string;
  status: string;
  /** The caller's side of the event: what they paid, earned, had reversed or were paid out. */
  amount_minor: number;
  currency: string;
  call_id: string | null;
  payout_id: string | null;
  created_at: string;
}

const EXPORT_BATCH = 500;
/** Rows one export may hold; a longer history is exported in date ranges. */
export const EXPORT_MAX_ROWS = 100_000;

/**
 * Payment history from the ledger: the transactions that touch the caller's accounts (as a
 * payer `guest:<id>`, as a host `host:<id>:*`), posted to or named as a party (a refund or
 * dispute of the payer's charge), one row per money event, newest first.
 */
export class PaymentHistoryService {
  constructor(private readonly ledger: LedgerService) {}

  private accounts(userId: string): string[] {
    return [Accounts.guest(userId), Accounts.hostPending(userId), Accounts.hostAvailable(userId), Accounts.hostInTransit(userId)];
  }

  private kinds(status: string | undefined): string[] {
    return Object.entries(KIND_VIEW).filter(([, v]) => !status || v.status === status).map(([kind]) => kind);
  }

  private row(tx: LedgerTransaction, mine: Set<string>): HistoryRow {
    const view = KIND_VIEW[tx.kind] ?? { type: tx.kind, status: 'recorded' };
    const posted = tx.postings.filter((p) => mine.has(p.account));
    // A party without a posting (the payer of a refunded charge) sees the whole amount moved.
    const amount = (posted.length > 0 ? posted : tx.postings).reduce((max, p) => Math.max(max, Math.abs(p.amount_minor)), 0);
    return {
      id: tx.id, type: view.type, status: view.status, amount_minor: amount, currency: tx.currency,
      call_id: tx.refs.call_id ?? null, payout_id: tx.refs.payout_id ?? null, created_at: tx.created_at.toISOString(),
    };
  }

  async page(userId: string, filter: HistoryFilter, skip: number, limit: number): Promise<{ items: HistoryRow[]; total: number }> {
    const accounts = this.accounts(userId);
    const { items, total } = await this.ledger.entries({
      accounts, kinds: this.kinds(filter.status), skip, limit,
      ...(filter.callId ? { callId: filter.callId } : {}), ...(filter.from ? { from: filter.from } : {}), ...(filter.to ? { to: filter.to } : {}),
    });
    const mine = new Set(accounts);
    return { items: items.map((tx) => this.row(tx, mine)), total };
  }

  /** The same rows as CSV lines (header first), produced page by page. */
  async *csv(userId: string, filter: HistoryFilter): AsyncGenerator<string> {
    yield csvLine(['created_at', 'id', 'type', 'status', 'amount_minor', 'currency', 'call_id', 'payout_id']);
    for (let skip = 0; skip < EXPORT_MAX_ROWS; skip += EXPORT_BATCH) {
      const { items } = await this.page(userId, filter, skip, EXPORT_BATCH);
      for (const r of items) yield csvLine([r.created_at, r.id, r.type, r.status, r.amount_minor, r.currency, r.call_id, r.payout_id]);
      if (items.length < EXPORT_BATCH) return;
    }
  }
}
