import { isDeepStrictEqual } from 'node:util';
import type { BalanceRow, EntryQuery, LedgerRefs, LedgerRepository, LedgerTransaction, Posting } from '../../repositories/ledger.js';
import { ACCOUNT_PATTERN, CURRENCY_PATTERN } from './accounts.js';

export type { BalanceRow, LedgerRefs, LedgerTransaction, Posting };

/** What a caller asks to post; `created_at` defaults to now. */
export interface PostRequest {
  /** Deterministic key of the business event, e.g. `minute:<callId>:<n>`, `capture:<paymentId>`. */
  id: string;
  kind: string;
  currency: string;
  postings: Posting[];
  refs?: LedgerRefs;
  created_at?: Date;
}

export interface PostResult {
  /** False when the same transaction was already in the ledger (an idempotent repeat). */
  applied: boolean;
  transaction: LedgerTransaction;
}

const ID_PATTERN = /^[a-z_]{1,32}:[A-Za-z0-9_:.-]{1,200}$/;
const KIND_PATTERN = /^[a-z_]{1,32}$/;

/**
 * Throws TypeError (a programming error, never client input) unless the request is a
 * well-formed balanced transaction: at least two postings, distinct valid accounts, non-zero
 * safe-integer amounts summing to zero, an ISO currency.
 */
export function checkBalanced(request: PostRequest): void {
  if (!ID_PATTERN.test(request.id)) throw new TypeError(`bad ledger transaction id "${request.id}"`);
  if (!KIND_PATTERN.test(request.kind)) throw new TypeError(`bad ledger kind "${request.kind}"`);
  if (!CURRENCY_PATTERN.test(request.currency)) throw new TypeError(`bad currency "${request.currency}"`);
  if (request.postings.length < 2) throw new TypeError('a ledger transaction needs at least two postings');
  const seen = new Set<string>();
  let sum = 0n;
  for (const posting of request.postings) {
    if (!ACCOUNT_PATTERN.test(posting.account)) throw new TypeError(`bad ledger account "${posting.account}"`);
    if (seen.has(posting.account)) throw new TypeError(`account "${posting.account}" posted twice in one transaction`);
    seen.add(posting.account);
    if (!Number.isSafeInteger(posting.amount_minor) || posting.amount_minor === 0) {
      throw new TypeError(`posting to "${posting.account}" must be a non-zero safe integer, got ${posting.amount_minor}`);
    }
    sum += BigInt(posting.amount_minor);
  }
  if (sum !== 0n) throw new TypeError(`ledger transaction "${request.id}" does not balance (sum ${sum})`);
}

/** The result of inserting `tx` once; throws when a different transaction holds its id. */
function outcome(tx: LedgerTransaction, { inserted, stored }: { inserted: boolean; stored: LedgerTransaction }): PostResult {
  if (inserted) return { applied: true, transaction: stored };
  const same = stored.kind === tx.kind && stored.currency === tx.currency && isDeepStrictEqual(stored.postings, tx.postings);
  if (!same) throw new Error(`ledger transaction "${tx.id}" already exists with different content`);
  return { applied: false, transaction: stored };
}

/**
 * The double-entry ledger: append-only, one balanced document per business event, posted at
 * most once. Posting the same id again with the same content is a no-op (`applied: false`);
 * with different content it throws, since a deterministic key must always describe one event.
 */
export class LedgerService {
  constructor(private readonly repo: LedgerRepository, private readonly now: () => Date = () => new Date()) {}

  async post(request: PostRequest): Promise<PostResult> {
    const tx = this.transaction(request);
    return outcome(tx, await this.repo.insertOnce(tx));
  }

  /**
   * `post` for many requests in one unordered insert. Each result is the transaction's outcome
   * or, for a repeat with different content, the Error `post` would throw.
   */
  async postMany(requests: PostRequest[]): Promise<Array<PostResult | Error>> {
    const txs = requests.map((request) => this.transaction(request));
    const stored = await this.repo.insertManyOnce(txs);
    return txs.map((tx, i) => {
      try {
        return outcome(tx, stored[i]!);
      } catch (err) {
        return err as Error;
      }
    });
  }

  private transaction(request: PostRequest): LedgerTransaction {
    checkBalanced(request);
    return {
      id: request.id, kind: request.kind, currency: request.currency,
      postings: request.postings.map((p) => ({ account: p.account, amount_minor: p.amount_minor })),
      refs: { ...request.refs }, created_at: request.created_at ?? this.now(),
    };
  }

  get(id: string): Promise<LedgerTransaction | null> {
    return this.repo.get(id);
  }

  /** Balance of one account in one currency (0 when it has no postings). */
  async balance(account: string, currency: string): Promise<number> {
    const rows = await this.repo.balances({ accounts: [account], currency });
    return rows[0]?.balance_minor ?? 0;
  }

  /** Balances per (account, currency) of the named accounts, or of all accounts under `prefix`. */
  balances(select: { accounts?: string[]; prefix?: string; currency?: string }): Promise<BalanceRow[]> {
    return this.repo.balances(select);
  }

  /** Every currency's sum over the whole ledger; all zero when the ledger is sound. */
  totals(): Promise<Map<string, number>> {
    return this.repo.totalsByCurrency();
  }

  /** Sum of the postings to `account` per (kind, currency). */
  kindTotals(account: string): Promise<Array<{ kind: string; currency: string; total_minor: number }>> {
    return this.repo.kindTotals(account);
  }

  /** Transactions touching the given accounts (or prefix), newest first, for history views. */
  entries(query: EntryQuery): Promise<{ items: LedgerTransaction[]; total: number }> {
    return this.repo.entries(query);
  }
}
