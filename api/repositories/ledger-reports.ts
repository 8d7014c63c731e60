import type { Collection, Db } from 'mongodb';
import type { Posting } from './ledger.js';

interface LedgerRow { _id: string; kind: string; currency: string; postings: Posting[]; accounts: string[]; created_at: Date }

export interface MinuteTotals { currency: string; gross_minor: number; fee_minor: number; net_minor: number; minutes: number }

/**
 * Read-only reports over the `ledger` collection (owned and indexed by LedgerRepository): what
 * a host's billed minutes came to. Kept apart so reporting queries never touch the write path.
 */
export class LedgerReportsRepository {
  private readonly ledger: Collection<LedgerRow>;

  constructor(db: Db) {
    this.ledger = db.collection<LedgerRow>('ledger');
  }

  /**
   * Gross, fee and net of the minutes billed to `pendingAccount`'s host, per currency. One
   * group-by posting account per currency (FerretDB 1.x loses fields of compound `$group` ids):
   * guests' debits are the gross, the fee account's credit the fee, the host's credit the net.
   */
  async minuteTotals(pendingAccount: string, feesAccount: string): Promise<MinuteTotals[]> {
    const out: MinuteTotals[] = [];
    const match = { accounts: pendingAccount, kind: 'minute' };
    for (const currency of (await this.ledger.distinct('currency', match)).sort()) {
      const rows = await this.ledger.aggregate<{ _id: string; total: number }>([
        { $match: { ...match, currency } },
        { $unwind: '$postings' },
        { $group: { _id: '$postings.account', total: { $sum: '$postings.amount_minor' } } },
      ]).toArray();
      const minutes = await this.ledger.countDocuments({ ...match, currency });
      let gross = 0;
      let fee = 0;
      let net = 0;
      for (const row of rows) {
        if (row._id === pendingAccount) net = -row.total;
        else if (row._id === feesAccount) fee = -row.total;
        else if (row.total > 0) gross += row.total;
      }
      out.push({ currency, gross_minor: gross, fee_minor: fee, net_minor: net, minutes });
    }
    return out;
  }

  /** The host's billed minutes in [from, to) as (time, currency, gross, net), oldest first, streamed. */
  async *minutes(pendingAccount: string, from: Date, to: Date): AsyncGenerator<{ at: Date; currency: string; gross: number; net: number }> {
    const cursor = this.ledger.find(
      { accounts: pendingAccount, kind: 'minute', created_at: { $gte: from, $lt: to } },
      { projection: { created_at: 1, currency: 1, postings: 1 } },
    ).sort({ created_at: 1 }).batchSize(1000);
    for await (const row of cursor) {
      const net = -(row.postings.find((p) => p.account === pendingAccount)?.amount_minor ?? 0);
      const gross = row.postings.reduce((sum, p) => sum + (p.amount_minor > 0 ? p.amount_minor : 0), 0);
      yield { at: row.created_at, currency: row.currency, gross, net };
    }
  }
}
