import type { Collection, Db } from 'mongodb';
import { AppError } from '../errors/index.js';
import { isDuplicateKey } from '../runtime/mongo/errors.js';
import type { CallDocument } from './mongo-call-store.js';
import { isTerminal } from './state-machine.js';

/**
 * One entry of a host's claim log: generation `gen` of host `host_id` belongs to `call_id`
 * (null: the host was released). `_id` = `<host id>#<gen>`, unique by construction.
 */
interface HostClaim {
  _id: string;
  host_id: string;
  gen: number;
  call_id: string | null;
  at: Date;
}

/** A lower bound of a host's newest generation (a hint: the log itself is the truth). */
interface HostClaimHead {
  _id: string;
  gen: number;
}

/**
 * A claim on a call that is still waiting/ringing is honoured this long: time for its claimer to
 * make the call `active`. Past it (the claimer died, or its transition lost to an ending) the host
 * is free again unless that call has a pending claim to become `active`.
 */
const ACTIVATION_WINDOW_MS = 5000;
const MAX_ATTEMPTS = 20;

const keyOf = (hostId: string, gen: number): string => `${hostId}#${gen}`;

/** The conflict every path answers when a host is already in another call. */
export function hostBusyError(): AppError {
  return new AppError('conflict', { message: 'The host is in another call.', details: { reason: 'host_busy' } });
}

/**
 * "One active call per host", atomically on MongoDB and FerretDB 1.x alike. FerretDB runs
 * conditional updates and deletes as read-modify-write (not atomic), so the host is claimed with
 * unique-key inserts only: each host has a log of generations `<host>#0, #1, …`; whoever inserts
 * generation n+1 owns the host from then on (its call, or nobody for a release). Of two calls
 * racing for one host, exactly one insert of the next generation succeeds. A claim whose call is
 * over (or that was never followed by an activation) is free for the next claimer, so a release
 * lost to a storage failure or a dead process never blocks the host for good.
 */
export class HostClaims {
  private readonly claims: Collection<HostClaim>;
  private readonly heads: Collection<HostClaimHead>;
  private readonly calls: Collection<CallDocument>;
  /** MongoCallStore's transition claims (`<call id>:<version>`), read only. */
  private readonly transitions: Collection<{ _id: string; to: string }>;

  constructor(db: Db) {
    this.claims = db.collection<HostClaim>('host_claims');
    this.heads = db.collection<HostClaimHead>('host_claim_heads');
    this.calls = db.collection<CallDocument>('calls');
    this.transitions = db.collection<{ _id: string; to: string }>('call_transitions');
  }

  /** Claims `hostId` for `callId` (a no-op when it holds it already); throws `conflict`/`host_busy` when another call holds it. */
  async acquire(hostId: string, callId: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { gen, claim } = await this.latest(hostId);
      if (claim?.call_id === callId) return;
      if (await this.holds(claim)) throw hostBusyError();
      if (await this.insert(hostId, gen + 1, callId)) return;
    }
    throw hostBusyError();
  }

  /** Releases `hostId` if `callId` holds it. Best effort: a claim of a call that is over is free anyway. */
  async release(hostId: string, callId: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { gen, claim } = await this.latest(hostId);
      if (claim?.call_id !== callId) return;
      if (await this.insert(hostId, gen + 1, null)) return;
    }
  }

  /** The call that holds `hostId` now (active, or being made active), or null. */
  async holder(hostId: string): Promise<string | null> {
    const { claim } = await this.latest(hostId);
    return (await this.holds(claim)) ? claim!.call_id : null;
  }

  /** True when `claim` still binds its host: its call is active, or is being made active. */
  private async holds(claim: HostClaim | null): Promise<boolean> {
    if (!claim?.call_id) return false;
    const call = await this.calls.findOne({ _id: claim.call_id });
    if (!call || isTerminal(call.status)) return false;
    if (call.status === 'active') return true;
    if (Date.now() - claim.at.getTime() < ACTIVATION_WINDOW_MS) return true;
    // Its claimer may have inserted the transition to `active` and died before writing it: whoever finds it rolls it forward.
    return (await this.transitions.findOne({ _id: `${claim.call_id}:${call.version}` }))?.to === 'active';
  }

  /** The newest generation of `hostId` (-1: none) and its claim. */
  private async latest(hostId: string): Promise<{ gen: number; claim: HostClaim | null }> {
    let gen = (await this.heads.findOne({ _id: hostId }))?.gen ?? -1;
    let claim = gen >= 0 ? await this.claims.findOne({ _id: keyOf(hostId, gen) }) : null;
    for (;;) {
      const next = await this.claims.findOne({ _id: keyOf(hostId, gen + 1) });
      if (!next) return { gen, claim };
      gen += 1;
      claim = next;
    }
  }

  /** Inserts generation `gen`; false when another claimer got it first. */
  private async insert(hostId: string, gen: number, callId: string | null): Promise<boolean> {
    try {
      await this.claims.insertOne({ _id: keyOf(hostId, gen), host_id: hostId, gen, call_id: callId, at: new Date() });
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
    await this.heads.updateOne({ _id: hostId }, { $max: { gen } }, { upsert: true }).catch(() => undefined);
    return true;
  }
}
