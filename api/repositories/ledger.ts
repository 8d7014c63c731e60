import type { Collection, Db, Filter } from 'mongodb';
import { isDuplicateKey } from './errors.js';
import { insertManyOnce } from './insert-once.js';

export interface Posting {
  account: string;
  /** Signed minor units: positive = debit, negative = credit. */
  amount_minor: number;
}

/** What a ledger transaction points at; every field optional, indexed where queried. */
export interface LedgerRefs {
  call_id?: string;
  payment_id?: string;
  minute?: number;
  refund_id?: string;
  dispute_id?: string;
  payout_id?: string;
  user_id?: string;
  /**
   * Accounts the event concerns without a posting (a refund pays the guest back through Stripe,
   * not through the guest's receivable): indexed with the posted ones so their history finds it.
   */
  parties?: string[];
}

/**
 * One balanced ledger transaction: a single document (FerretDB 1.x has no multi-document
 * transactions), so it is written whole or not at all. `_id` is a deterministic key of the
 * business event (`minute:<callId>:<n>`), which makes a repeated write a no-op.
 */
export interface LedgerTransaction {
  id: string;
  kind: string;
  currency: string;
  postings: Posting[];
  refs: LedgerRefs;
  created_at: Date;
}

type LedgerDocument = Omit<LedgerTransaction, 'id'> & { _id: string; accounts: string[] };

export interface BalanceRow {
  account: string;
  currency: string;
  balance_minor: number;
}

export interface EntryQuery {
  accounts?: string[];
  accountPrefix?: string;
  kinds?: string[];
  callId?: string;
  currency?: string;
  from?: Date;
  to?: Date;
  skip: number;
  limit: number;
}

function toTransaction({ _id, accounts: _accounts, ...rest }: LedgerDocument): LedgerTransaction {
  return { id: _id, ...rest };
}

function toDocument(tx: LedgerTransaction): LedgerDocument {
  const { id, ...rest } = tx;
  return { _id: id, ...rest, accounts: [...new Set([...tx.postings.map((p) => p.account), ...(tx.refs.parties ?? [])])] };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The `ledger` collection: append-only balanced transactions. */
export class LedgerRepository {
  readonly collection: Collection<LedgerDocument>;

  constructor(db: Db) {
    this.collection = db.collection<LedgerDocument>('ledger');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ accounts: 1, created_at: -1 });
    await this.collection.createIndex({ 'refs.call_id': 1 });
    await this.collection.createIndex({ 'refs.payment_id': 1 });
    await this.collection.createIndex({ created_at: -1 });
  }

  /**
   * Inserts the transaction once. Returns `inserted: false` and the stored transaction when one
   * with the same id already exists (the caller compares them).
   */
  async insertOnce(tx: LedgerTransaction): Promise<{ inserted: boolean; stored: LedgerTransaction }> {
    const doc = toDocument(tx);
    const id = tx.id;
    try {
      await this.collection.insertOne(doc);
      return { inserted: true, stored: tx };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.collection.findOne({ _id: id });
      if (!existing) throw err;
      return { inserted: false, stored: toTransaction(existing) };
    }
  }

  /** `insertOnce` for many transactions in one unordered insert; the stored ones are read back by `_id`. */
  async insertManyOnce(txs: LedgerTransaction[]): Promise<Array<{ inserted: boolean; stored: LedgerTransaction }>> {
    const duplicates = await insertManyOnce(this.collection, txs.map(toDocument));
    return Promise.all(txs.map(async (tx, i) => {
      if (!duplicates.has(i)) return { inserted: true, stored: tx };
      const existing = await this.collection.findOne({ _id: tx.id });
      if (!existing) throw new Error(`ledger transaction ${tx.id} reported duplicate but not found`);
      return { inserted: false, stored: toTransaction(existing) };
    }));
  }

  get(id: string): Promise<LedgerTransaction | null> {
    return this.collection.findOne({ _id: id }).then((doc) => (doc ? toTransaction(doc) : null));
  }

  /**
   * Balances per (account, currency) of `accounts`, or of every account under `prefix`.
   * One group-by per currency: FerretDB 1.x drops top-level fields from a compound `$group` id.
   */
  async balances(select: { accounts?: string[]; prefix?: string; currency?: string }): Promise<BalanceRow[]> {
    const match: Filter<LedgerDocument> = {};
    let accountMatch: unknown;
    if (select.accounts) accountMatch = { $in: select.accounts };
    else if (select.prefix !== undefined) accountMatch = new RegExp(`^${escapeRegExp(select.prefix)}`);
    if (accountMatch) match.accounts = accountMatch as Filter<LedgerDocument>['accounts'];
    const currencies = select.currency ? [select.currency] : (await this.collection.distinct('currency', match)).sort();
    const out: BalanceRow[] = [];
    for (const currency of currencies) {
      const rows = await this.collection.aggregate<{ _id: string; balance: number }>([
        { $match: { ...match, currency } },
        { $unwind: '$postings' },
        ...(accountMatch ? [{ $match: { 'postings.account': accountMatch } }] : []),
        { $group: { _id: '$postings.account', balance: { $sum: '$postings.amount_minor' } } },
      ]).toArray();
      for (const row of rows) out.push({ account: row._id, currency, balance_minor: row.balance });
    }
    return out.sort((a, b) => a.account.localeCompare(b.account) || a.currency.localeCompare(b.currency));
  }

  /** Sum of every posting per currency: zero for each currency in a sound ledger. */
  async totalsByCurrency(): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    for (const currency of (await this.collection.distinct('currency', {})).sort()) {
      totals.set(currency, await this.sumOf({ currency }));
    }
    return totals;
  }

  /**
   * Sum of the postings of the matching transactions (to `account` only, when given). Grouping
   * keys are all fixed in `$match`: FerretDB 1.x loses top-level fields in a `$group` after `$unwind`.
   */
  private async sumOf(match: Filter<LedgerDocument>, account?: string): Promise<number> {
    const rows = await this.collection.aggregate<{ total: number }>([
      { $match: account ? { ...match, accounts: account } : match },
      { $unwind: '$postings' },
      ...(account ? [{ $match: { 'postings.account': account } }] : []),
      { $group: { _id: null, total: { $sum: '$postings.amount_minor' } } },
    ]).toArray();
    return rows[0]?.total ?? 0;
  }

  /** Sum of the postings to `account` per (kind, currency), e.g. what a host was paid out to date. */
  async kindTotals(account: string): Promise<Array<{ kind: string; currency: string; total_minor: number }>> {
    const out: Array<{ kind: string; currency: string; total_minor: number }> = [];
    for (const currency of await this.collection.distinct('currency', { accounts: account })) {
      for (const kind of await this.collection.distinct('kind', { accounts: account, currency })) {
        out.push({ kind, currency, total_minor: await this.sumOf({ currency, kind }, account) });
      }
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.currency.localeCompare(b.currency));
  }

  private filterOf(query: Omit<EntryQuery, 'skip' | 'limit'>): Filter<LedgerDocument> {
    const filter: Filter<LedgerDocument> = {};
    if (query.accounts) filter.accounts = { $in: query.accounts };
    else if (query.accountPrefix !== undefined) filter.accounts = new RegExp(`^${escapeRegExp(query.accountPrefix)}`);
    if (query.kinds) filter.kind = { $in: query.kinds };
    if (query.callId) filter['refs.call_id'] = query.callId;
    if (query.currency) filter.currency = query.currency;
    if (query.from || query.to) filter.created_at = { ...(query.from ? { $gte: query.from } : {}), ...(query.to ? { $lt: query.to } : {}) };
    return filter;
  }

  /** One page of transactions, newest first, with the total. */
  async entries(query: EntryQuery): Promise<{ items: LedgerTransaction[]; total: number }> {
    const filter = this.filterOf(query);
    const [docs, total] = await Promise.all([
      this.collection.find(filter).sort({ created_at: -1, _id: -1 }).skip(query.skip).limit(query.limit).toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items: docs.map(toTransaction), total };
  }
}
