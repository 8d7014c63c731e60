import { AppError } from '../../../shared/errors/index.js';
import type { LedgerReportsRepository } from '../../repositories/ledger-reports.js';
import { Accounts } from './accounts.js';
import type { LedgerService } from './ledger.js';
import { bucketOf, bucketRange, isTimeZone, localDate, type Interval } from './time-buckets.js';

export interface EarningsView {
  currency: string;
  /** Billed minutes: what guests were charged, the platform's fee, the host's share. */
  gross_minor: number;
  fees_minor: number;
  net_minor: number;
  minutes: number;
  /** Taken back by refunds and lost disputes (net of won disputes). */
  reversed_minor: number;
  /** Billed, not yet captured or still in the refund window. */
  pending_minor: number;
  /** Can be paid out now (negative: the host owes a clawback). */
  available_minor: number;
  in_transit_minor: number;
  paid_out_minor: number;
}

export interface ChartSeries {
  currency: string;
  buckets: Array<{ start: string; gross_minor: number; net_minor: number; minutes: number }>;
}

/** Buckets one chart may hold (e.g. ~2 years of days). */
export const MAX_BUCKETS = 800;

/** A host's earnings from the ledger: totals per currency and a zero-filled time series. */
export class EarningsService {
  constructor(private readonly ledger: LedgerService, private readonly reports: LedgerReportsRepository) {}

  async summary(hostId: string): Promise<EarningsView[]> {
    const [minutes, balances, reversals, payouts] = await Promise.all([
      this.reports.minuteTotals(Accounts.hostPending(hostId), Accounts.platformFees),
      this.ledger.balances({ accounts: [Accounts.hostPending(hostId), Accounts.hostAvailable(hostId), Accounts.hostInTransit(hostId)] }),
      this.ledger.kindTotals(Accounts.hostAvailable(hostId)),
      this.ledger.kindTotals(Accounts.hostInTransit(hostId)),
    ]);
    const currencies = new Set<string>([...minutes.map((m) => m.currency), ...balances.map((b) => b.currency)]);
    const balance = (account: string, currency: string) => -(balances.find((b) => b.account === account && b.currency === currency)?.balance_minor ?? 0);
    return [...currencies].sort().map((currency) => {
      const m = minutes.find((x) => x.currency === currency);
      const reversed = reversals.filter((r) => r.currency === currency && ['refund', 'dispute', 'dispute_won'].includes(r.kind)).reduce((s, r) => s + r.total_minor, 0);
      const paidOut = payouts.filter((r) => r.currency === currency && r.kind === 'payout_paid').reduce((s, r) => s + r.total_minor, 0);
      return {
        currency, gross_minor: m?.gross_minor ?? 0, fees_minor: m?.fee_minor ?? 0, net_minor: m?.net_minor ?? 0, minutes: m?.minutes ?? 0,
        reversed_minor: reversed,
        pending_minor: balance(Accounts.hostPending(hostId), currency),
        available_minor: balance(Accounts.hostAvailable(hostId), currency),
        in_transit_minor: balance(Accounts.hostInTransit(hostId), currency),
        paid_out_minor: paidOut,
      };
    });
  }

  /** Earned (billed) amounts per bucket of `interval` in [from, to), local to `timeZone`; empty buckets are zeros. */
  async chart(hostId: string, range: { from: Date; to: Date; interval: Interval; timeZone: string; currency?: string }): Promise<ChartSeries[]> {
    if (!isTimeZone(range.timeZone)) throw new AppError('validation_error', { details: { time_zone: 'must be an IANA time zone' } });
    const keys = bucketRange(range.from, new Date(range.to.getTime() - 1), range.interval, range.timeZone);
    if (keys.length > MAX_BUCKETS) throw new AppError('validation_error', { message: `A chart holds at most ${MAX_BUCKETS} buckets.`, details: { to: `range too long for interval ${range.interval}` } });
    const series = new Map<string, Map<string, { gross_minor: number; net_minor: number; minutes: number }>>();
    const empty = () => new Map(keys.map((k) => [k, { gross_minor: 0, net_minor: 0, minutes: 0 }]));
    if (range.currency) series.set(range.currency, empty());
    for await (const minute of this.reports.minutes(Accounts.hostPending(hostId), range.from, range.to)) {
      let buckets = series.get(minute.currency);
      if (range.currency && minute.currency !== range.currency) continue;
      if (!buckets) {
        buckets = empty();
        series.set(minute.currency, buckets);
      }
      const bucket = buckets.get(bucketOf(localDate(minute.at, range.timeZone), range.interval));
      if (!bucket) continue;
      bucket.gross_minor += minute.gross;
      bucket.net_minor += minute.net;
      bucket.minutes += 1;
    }
    return [...series.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, buckets]) => ({
      currency, buckets: [...buckets.entries()].map(([start, v]) => ({ start, ...v })),
    }));
  }
}
