import type { Collection, Db } from 'mongodb';
import { AppError } from '../errors/index.js';
import { isDuplicateKey } from '../runtime/mongo/errors.js';
import type { Call, Party } from './call.js';
import type { CallStore, MediaUpOptions, TransitionOptions, TransitionResult } from './call-store.js';
import { HostClaims } from './host-claims.js';
import { canTransition, isTerminal, reasonFor, timestampFieldOf, type CallStatus, type EndReason } from './state-machine.js';

/** A call as stored in `calls`: the id is `_id`. */
export type CallDocument = Omit<Call, 'id'> & { _id: string };

/**
 * One claimed write of a call out of `version`; `_id` = `<call id>:<version>`, unique by
 * construction. A transition, or (`media_up` set) the write of `media_up_at` on an active call
 * (`from` = `to` = `active`).
 */
interface TransitionClaim {
  _id: string;
  call_id: string;
  version: number;
  from: CallStatus;
  to: CallStatus;
  reason: EndReason | null;
  at: Date;
  /** Who asked for a transition into a terminal status (`ended_by`; absent on older claims: `system`). */
  by?: Party;
  media_up?: { at: Date; by: Party };
  /** When the claim was inserted (server clock of the claimer). */
  claimed_at?: Date;
  /** The claimer's `TransitionOptions.key`, so that its own retry recognises the claim. */
  key?: string;
}

/** A claim still unapplied after this long is taken to belong to a writer that died. */
const STALE_CLAIM_MS = 5000;

const MAX_ATTEMPTS = 60;

/** The Call of a stored document (documents written before a field existed read it as null). */
export function callFromDocument({ _id, ...rest }: CallDocument): Call {
  return { id: _id, ...rest, media_up_at: rest.media_up_at ?? null, media_up_by: rest.media_up_by ?? null, ended_by: rest.ended_by ?? null };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fields a transition into `to` sets. */
function changesOf(to: CallStatus, reason: EndReason | undefined, at: Date, by: Party | undefined): Partial<Call> {
  const field = timestampFieldOf(to);
  return {
    status: to, updated_at: at, ...(reason ? { end_reason: reason } : {}), ...(field ? { [field]: at } : {}),
    ...(isTerminal(to) ? { ended_by: by ?? 'system' } : {}),
  };
}

/** The fields a claim writes onto its call. */
function changesOfClaim(claim: TransitionClaim): Partial<Call> {
  if (claim.media_up) return { media_up_at: claim.media_up.at, media_up_by: claim.media_up.by, updated_at: claim.at };
  return changesOf(claim.to, claim.reason ?? undefined, claim.at, claim.by);
}

/**
 * CallStore on the `calls` collection. Lives in `shared/` because both tiers apply the same
 * transitions (the signal tier when peers join, the api on `/end` and the ring timeout).
 *
 * Exactly-once rests on a unique-key insert, not on a conditional update: FerretDB 1.24 runs
 * `findOneAndUpdate`/`updateOne` as read-modify-write, and concurrent conditional updates of one
 * document can all "succeed" (measured: up to 20 of 20). A transition therefore first inserts a
 * claim `<call id>:<version>` into `call_transitions`; the single winner of that insert is the only
 * writer of the next version. The claims double as the call's transition log.
 * Every write to a call document must go through this store.
 */
export class MongoCallStore implements CallStore {
  private readonly calls: Collection<CallDocument>;
  private readonly claims: Collection<TransitionClaim>;
  private readonly hosts: HostClaims;

  constructor(db: Db) {
    this.calls = db.collection<CallDocument>('calls');
    this.claims = db.collection<TransitionClaim>('call_transitions');
    this.hosts = new HostClaims(db);
  }

  /** The call that keeps `hostId` busy (active, or being made active), or null: a host is in one call at a time. */
  hostBusyWith(hostId: string): Promise<string | null> {
    return this.hosts.holder(hostId);
  }

  /** Creates the indexes this store relies on; safe to call at every start. */
  async ensureIndexes(): Promise<void> {
    await this.calls.createIndex({ host_id: 1, created_at: -1 });
    await this.calls.createIndex({ guest_id: 1, created_at: -1 });
    await this.calls.createIndex({ status: 1, created_at: 1 });
    await this.calls.createIndex({ link_id: 1 });
    await this.claims.createIndex({ call_id: 1, version: 1 });
  }

  async create(call: Call): Promise<Call> {
    const { id, ...rest } = call;
    await this.calls.insertOne({ _id: id, ...rest });
    return call;
  }

  async get(id: string): Promise<Call | null> {
    const doc = await this.calls.findOne({ _id: id });
    return doc ? callFromDocument(doc) : null;
  }

  /** The recorded transitions of a call, oldest first (the media-up write is not one). */
  async transitionsOf(id: string): Promise<Array<{ version: number; from: CallStatus; to: CallStatus; reason: EndReason | null; at: Date }>> {
    const docs = await this.claims.find({ call_id: id }).sort({ version: 1 }).toArray();
    return docs.filter((d) => !d.media_up).map(({ version, from, to, reason, at }) => ({ version, from, to, reason, at }));
  }

  async transition(id: string, to: CallStatus, options: TransitionOptions = {}): Promise<TransitionResult> {
    const at = options.at ?? new Date();
    const reason = reasonFor(to, options.reason);
    const { key } = options;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) throw new AppError('not_found', { message: 'Call not found.' });
      if (current.status === to) {
        // An earlier attempt of this same transition may have been written before its error.
        const mine = key !== undefined && (await this.statusClaim(id, current.version))?.key === key;
        return { call: current, changed: mine };
      }
      if (!canTransition(current.status, to)) {
        throw new AppError('conflict', { message: `Call is ${current.status}; it cannot become ${to}.`, details: { status: current.status } });
      }
      // One active call per host: the host is claimed before the call may become active.
      if (to === 'active') await this.hosts.acquire(current.host_id, id);
      const claim: TransitionClaim = {
        _id: `${id}:${current.version}`, call_id: id, version: current.version, from: current.status, to, reason: reason ?? null, at, claimed_at: new Date(),
        ...(isTerminal(to) ? { by: options.by ?? 'system' } : {}), ...(key !== undefined ? { key } : {}),
      };
      try {
        await this.claims.insertOne(claim);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const rival = await this.claims.findOne({ _id: claim._id });
        if (rival && key !== undefined && rival.key === key) {
          // Our own claim from an attempt that failed after inserting it: finish it.
          const changes = await this.applyClaim(rival);
          return { call: { ...current, ...changes }, changed: true };
        }
        if (rival && Date.now() - (rival.claimed_at ?? rival.at).getTime() > STALE_CLAIM_MS) await this.applyClaim(rival);
        if (rival && rival.to === to && !rival.media_up) {
          const call = { ...current, ...changesOfClaim(rival), version: current.version + 1 };
          return { call, changed: false };
        }
        if (rival && !canTransition(rival.to, to)) {
          throw new AppError('conflict', { message: `Call is ${rival.to}; it cannot become ${to}.`, details: { status: rival.to } });
        }
        await pause(2 + Math.floor(Math.random() * 8));
        continue;
      }
      const changes = await this.applyClaim(claim);
      return { call: { ...current, ...changes }, changed: true };
    }
    throw new AppError('conflict', { message: 'Call changed concurrently; retry.' });
  }

  async markMediaUp(id: string, options: MediaUpOptions): Promise<TransitionResult> {
    const { key } = options;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) throw new AppError('not_found', { message: 'Call not found.' });
      if (current.media_up_at) {
        const mine = key !== undefined && (await this.claims.findOne({ call_id: id, media_up: { $exists: true } }))?.key === key;
        return { call: current, changed: mine };
      }
      if (current.status !== 'active') {
        throw new AppError('conflict', { message: `Call is ${current.status}; media cannot come up.`, details: { status: current.status } });
      }
      const now = new Date();
      const claim: TransitionClaim = {
        _id: `${id}:${current.version}`, call_id: id, version: current.version, from: 'active', to: 'active', reason: null, at: now, claimed_at: now,
        media_up: { at: options.at, by: options.by }, ...(key !== undefined ? { key } : {}),
      };
      try {
        await this.claims.insertOne(claim);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const rival = await this.claims.findOne({ _id: claim._id });
        if (rival && key !== undefined && rival.key === key) return { call: { ...current, ...(await this.applyClaim(rival)) }, changed: true };
        if (rival && Date.now() - (rival.claimed_at ?? rival.at).getTime() > STALE_CLAIM_MS) await this.applyClaim(rival);
        await pause(2 + Math.floor(Math.random() * 8));
        continue;
      }
      return { call: { ...current, ...(await this.applyClaim(claim)) }, changed: true };
    }
    throw new AppError('conflict', { message: 'Call changed concurrently; retry.' });
  }

  /** The claim that moved the call into its current status (a media-up claim may have taken a version since). */
  private async statusClaim(id: string, version: number): Promise<TransitionClaim | null> {
    for (let v = version - 1; v >= 0; v--) {
      const claim = await this.claims.findOne({ _id: `${id}:${v}` });
      if (!claim?.media_up) return claim;
    }
    return null;
  }

  /**
   * Writes a claimed transition onto the call (if the call is still at the claim's version) and
   * returns the changes. The claim's winner does this at once; a claim found unapplied after
   * STALE_CLAIM_MS (its winner died between claim and write) is rolled forward by whoever finds it,
   * writing the same values, so the call can move again.
   */
  private async applyClaim(claim: TransitionClaim): Promise<Partial<Call>> {
    const changes = { ...changesOfClaim(claim), version: claim.version + 1 };
    await this.calls.updateOne({ _id: claim.call_id, version: claim.version }, { $set: changes });
    // In the background: a claim naming a call that is over is free anyway; releasing only saves the next claimer a read.
    if (claim.from === 'active' && claim.to !== 'active') void this.releaseHost(claim.call_id);
    return changes;
  }

  /** Frees the host of a call that left `active`; a failure only delays that (the next claimer sees the call is over). */
  private async releaseHost(callId: string): Promise<void> {
    const call = await this.calls.findOne({ _id: callId }, { projection: { host_id: 1 } }).catch(() => null);
    if (call) await this.hosts.release(call.host_id, callId).catch(() => undefined);
  }

  async findStaleRinging(before: Date, limit: number): Promise<Call[]> {
    const docs = await this.calls.find({ status: { $in: ['waiting', 'ringing'] }, created_at: { $lt: before } }).sort({ created_at: 1 }).limit(limit).toArray();
    return docs.map(callFromDocument);
  }
}
