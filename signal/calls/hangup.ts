import { isTerminal, type CallStatus, type Peer } from '../../shared/calls/index.js';
import type { ErrorCode } from '../../shared/errors/index.js';
import { ackFrame, errorFrame } from '../../shared/protocol/index.js';
import type { Session } from '../session/session.js';
import type { RoomJobs, RoomsContext } from './context.js';
import { snapshotOf } from './room.js';

/** A `hangup` is answered within this long: `ack` once the call is over, else `service_unavailable`. */
export const HANGUP_REPLY_BUDGET_MS = 5_000;
/** Rounds of transition-then-reread a hangup makes when the call keeps moving under it. */
export const HANGUP_ROUNDS = 3;

/**
 * `hangup`: an active call → `ended`/`hangup`; before that the host's hangup declines it and the
 * guest's ends it.
 */
export class Hangup {
  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {}

  /**
   * Replies once: `ack` (when the request has an `id`) only after the call is over (ended here,
   * or already over), before the peers get `call-state`; an `error` `service_unavailable` when
   * storage failed on every attempt or did not answer within HANGUP_REPLY_BUDGET_MS (resending is
   * safe: the store transition is idempotent).
   */
  async hangup(session: Session, id: string | undefined): Promise<void> {
    const { relay } = this.jobs;
    let replied = false;
    const reply = (code?: ErrorCode, message?: string): void => {
      if (replied) return;
      replied = true;
      if (code) relay.send(session, errorFrame(code, message ?? '', id), 'error');
      else if (id) relay.send(session, ackFrame(id), 'ack');
    };
    const unavailable = (): void => reply('service_unavailable', 'Call storage is unavailable; the call was not ended. Retry.');
    const budget = setTimeout(unavailable, HANGUP_REPLY_BUDGET_MS);
    // If the other side's hangup ends the call first, its call-state closes this socket: ack before that.
    const ack = (): void => reply();
    const participant = this.ctx.rooms.get(session.callId)?.live.get(session.peer);
    const acks = participant?.session === session ? (participant.hangupAcks ??= new Set()) : new Set<() => void>();
    acks.add(ack);
    try {
      const over = await this.#end(session, ack);
      if (over === 'unavailable') unavailable();
      else if (over === 'not_found') reply('not_found', 'Call not found.');
    } finally {
      clearTimeout(budget);
      acks.delete(ack);
    }
  }

  /** The transitions of a hangup; `onOver` runs once the call is over, before the peers are told. */
  async #end(session: Session, onOver: () => void): Promise<'over' | 'unavailable' | 'not_found'> {
    const { lifecycle } = this.jobs;
    const { callId } = session;
    const at = new Date(this.ctx.now());
    let status = this.ctx.rooms.get(callId)?.call.status ?? 'active';
    for (let round = 0; round < HANGUP_ROUNDS; round++) {
      const to: CallStatus = status !== 'active' && session.peer === 'host' ? 'declined' : 'ended';
      const before = this.ctx.rooms.get(callId)?.call.status ?? null;
      const outcome = await lifecycle.storeTransition(callId, to, to === 'declined' ? 'declined' : 'hangup', at, session.peer as Peer);
      if (outcome.kind === 'unavailable') return 'unavailable';
      if (outcome.kind === 'done') {
        onOver();
        lifecycle.settle(callId, to, before, outcome.result);
        return 'over';
      }
      if (outcome.err.code === 'not_found') return 'not_found';
      const call = await lifecycle.read(callId);
      if (call === undefined) return 'unavailable';
      if (call === null) return 'not_found';
      if (isTerminal(call.status)) {
        onOver();
        lifecycle.applyCall(callId, snapshotOf(call));
        return 'over';
      }
      status = call.status;
    }
    return 'unavailable';
  }
}
