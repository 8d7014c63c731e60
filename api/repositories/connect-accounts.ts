import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './errors.js';

/** A host's Stripe Connect (Express) account and what Stripe last told us about it. */
export interface ConnectAccount {
  host_id: string;
  /** Stripe's `acct_…`. */
  account_id: string;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  requirements_due: string[];
  /** Stripe time (seconds) of the state stored: an older event never overwrites a newer state. */
  stripe_version: number;
  created_at: Date;
  updated_at: Date;
}

type ConnectAccountDocument = Omit<ConnectAccount, 'host_id'> & { _id: string };

export type AccountState = Pick<ConnectAccount, 'charges_enabled' | 'payouts_enabled' | 'details_submitted' | 'requirements_due' | 'stripe_version'>;

function toAccount({ _id, ...rest }: ConnectAccountDocument): ConnectAccount {
  return { host_id: _id, ...rest };
}

/** The `connect_accounts` collection: one account per host (`_id`), account ids unique. */
export class ConnectAccountsRepository {
  private readonly accounts: Collection<ConnectAccountDocument>;

  constructor(db: Db) {
    this.accounts = db.collection<ConnectAccountDocument>('connect_accounts');
  }

  async ensureIndexes(): Promise<void> {
    await this.accounts.createIndex({ account_id: 1 }, { unique: true });
  }

  async findByHost(hostId: string): Promise<ConnectAccount | null> {
    const doc = await this.accounts.findOne({ _id: hostId });
    return doc ? toAccount(doc) : null;
  }

  async findByAccountId(accountId: string): Promise<ConnectAccount | null> {
    const doc = await this.accounts.findOne({ account_id: accountId });
    return doc ? toAccount(doc) : null;
  }

  /** Records the host's account unless one exists; returns the one that is kept. */
  async insertOrGet(account: ConnectAccount): Promise<ConnectAccount> {
    const { host_id, ...rest } = account;
    try {
      await this.accounts.insertOne({ _id: host_id, ...rest });
      return account;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const existing = await this.findByHost(host_id);
      if (!existing) throw err;
      return existing;
    }
  }

  /** Stores `state` only if it is newer than (or as new as) the stored one; true when applied. */
  async applyState(accountId: string, state: AccountState, now: Date): Promise<boolean> {
    const result = await this.accounts.updateOne(
      { account_id: accountId, stripe_version: { $lte: state.stripe_version } },
      { $set: { ...state, updated_at: now } },
    );
    return result.matchedCount === 1;
  }
}
