import { randomUUID } from 'node:crypto';
import { AppError } from '../../shared/errors/index.js';
import {
  PEERS, announcementOf, callsChannelName, isTerminal,
  type Call, type CallAnnouncement, type CallStatus, type EndReason, type Party, type TransitionResult,
} from '../../shared/calls/index.js';
import { CLOSE_CODES, encodeSequenced } from '../../shared/protocol/index.js';
import type { BrokerMessage } from '../broker/index.js';
import { preciseNow } from '../clock.js';
import type { RoomJobs, RoomsContext } from './context.js';
import { STORAGE_RETRY_DELAYS_MS, isFinalStorageError, withRetry } from './retry.js';
import { awaitsAnswer, snapshotOf, stateData, type CallSnapshot, type Room } from './room.js';

/** Attempts at making a call `active` when a concurrent transition moved it on under us. */
export const ACTIVATION_ATTEMPTS = 3;

/** What became of a transition asked of the store (after retrying storage failures). */
export type StoreOutcome =
  | { kind: 'done'; result: TransitionResult }
  | { kind: 'refused'; err: AppError }
  | { kind: 'unavailable'; err: unknown };

/**
 * Call lifecycle transitions through the atomic CallStore update, so concurrent nodes make each
 * one exactly once; the winner announces it (event, calls channel) and every node pushes the new
 * `call-state` to its sockets of the call (closing them when the call is over).
 */
export class Lifecycle {
  /** Rooms whose peers were both connected but storage failed to make the call `active`; the sweep retries. */
  readonly #activationPending = new Set<Room>();
  readonly callsChannel: string;

  constructor(private readonly ctx: RoomsContext, private readonly jobs: RoomJobs) {
    this.callsChannel = callsChannelName(ctx.deps.prefix);
    ctx.onForget((room) => this.#activationPending.delete(room));
  }

  /**
   * Makes the call `active`. Losing a race to a concurrent `ringing` transition (the call moved
   * on under us) is retried at once; when storage keeps failing, the room is marked so the sweep
   * tries again.
   */
  async activate(room: Room): Promise<void> {
    for (let attempt = 0; attempt < ACTIVATION_ATTEMPTS; attempt++) {
      const version = room.call.version;
      if (await this.transition(room.callId, 'active')) break;
      if (!awaitsAnswer(room.call.status) || room.call.version === version) break;
    }
    if (awaitsAnswer(room.call.status)) this.#activationPending.add(room);
    else this.#activationPending.delete(room);
  }

  /** Retries activations that storage refused while both peers are still connected. */
  async retryActivations(): Promise<void> {
    for (const room of [...this.#activationPending]) {
      const bothConnected = PEERS.every((p) => room.live.has(p) || room.remote.get(p)?.state === 'connected');
      if (bothConnected && awaitsAnswer(room.call.status) && this.ctx.isCurrent(room)) await this.activate(room);
      else this.#activationPending.delete(room);
    }
  }

  /**
   * Applies a call transition through the store, retrying storage failures. Only the caller
   * whose atomic update won emits the event and pushes `call-state` (locally, and to other nodes
   * on the calls channel). `at`: the time it takes effect (default now).
   */
  async transition(callId: string, to: CallStatus, reason?: EndReason, at?: Date): Promise<boolean> {
    const before: CallStatus | null = this.ctx.rooms.get(callId)?.call.status ?? null;
    const outcome = await this.storeTransition(callId, to, reason, at);
    if (outcome.kind === 'unavailable') return false;
    if (outcome.kind === 'refused') {
      this.ctx.deps.log.debug({ call: callId, to, err: outcome.err.message }, 'transition not applied');
      if (outcome.err.code === 'conflict') await this.refreshCall(callId);
      return false;
    }
    return this.settle(callId, to, before, outcome.result);
  }

  /** Asks the store for a transition, retrying storage failures (one idempotency key for all attempts); `by`: who ends the call. */
  async storeTransition(callId: string, to: CallStatus, reason?: EndReason, at = new Date(this.ctx.now()), by: Party = 'system'): Promise<StoreOutcome> {
    const options = { ...(reason ? { reason } : {}), at, by, key: randomUUID() };
    try {
      return { kind: 'done', result: await withRetry(() => this.ctx.deps.store.transition(callId, to, options), this.#retryOptions(callId, `transition to ${to}`)) };
    } catch (err) {
      if (err instanceof AppError && (err.code === 'conflict' || err.code === 'not_found')) return { kind: 'refused', err };
      this.ctx.deps.log.error({ err, call: callId, to }, 'transition failed');
      return { kind: 'unavailable', err };
    }
  }

  /** The stored call (null: no such call), retrying storage failures; undefined when storage kept failing. */
  async read(callId: string): Promise<Call | null | undefined> {
    try {
      return await withRetry(() => this.ctx.deps.store.get(callId), this.#retryOptions(callId, 'call lookup'));
    } catch (err) {
      this.ctx.deps.log.error({ err, call: callId }, 'call lookup failed');
      return undefined;
    }
  }

  /** Announces and applies what the store did; true when this caller made the transition. */
  settle(callId: string, to: CallStatus, before: CallStatus | null, result: TransitionResult): boolean {
    const { log, events, nodeId, broker, metrics } = this.ctx.deps;
    if (!result.changed) {
      this.applyCall(callId, snapshotOf(result.call));
      return false;
    }
    const from = before === to ? null : before;
    const snapshot = snapshotOf(result.call);
    log.info({ call: callId, from, to, reason: snapshot.endReason, version: snapshot.version }, 'call state changed');
    events.emit('call-state', { callId, from, to, reason: result.call.end_reason, version: snapshot.version, at: result.call.updated_at, node: nodeId });
    const payload = JSON.stringify(announcementOf(result.call));
    broker.publish(this.callsChannel, payload).catch(() => metrics.publishFailures.inc());
    this.applyCall(callId, snapshot);
    if (isTerminal(to)) {
      this.ctx.membership.clearRoom(callId, PEERS).catch((err: unknown) => log.warn({ err, call: callId }, 'room cleanup failed'));
    }
    return true;
  }

  /** Re-reads a call from the store and pushes its state if it is newer than ours. */
  async refreshCall(callId: string): Promise<void> {
    const call = await this.ctx.deps.store.get(callId).catch(() => null);
    if (call) this.applyCall(callId, snapshotOf(call));
  }

  /** Handles a call-state published by another node (or by the calls API). */
  onCallsMessage(message: BrokerMessage): void {
    let data: CallAnnouncement;
    try {
      data = JSON.parse(message.payload) as CallAnnouncement;
    } catch {
      return;
    }
    this.applyAnnouncement(data);
  }

  /** Pushes an announced call state to this node's sockets of that call when it is newer than ours. */
  applyAnnouncement(data: CallAnnouncement): void {
    const room = this.ctx.rooms.get(data.call_id);
    if (!room || typeof data.version !== 'number') return;
    this.applyCall(data.call_id, {
      ...room.call, status: data.status, endReason: data.end_reason, version: data.version,
      answeredAt: data.answered_at ?? room.call.answeredAt, mediaUpAt: data.media_up_at ?? room.call.mediaUpAt,
    });
  }

  /**
   * Takes a newer call state into the local room: pushes `call-state` to its sockets and, once the
   * call is over, closes them and forgets the room. A newer version that only sets the media-up
   * time starts the room's billing clock and sends nothing.
   */
  applyCall(callId: string, call: CallSnapshot): void {
    const room = this.ctx.rooms.get(callId);
    if (!room || call.version <= room.call.version) return;
    const becameActive = call.status === 'active' && room.call.status !== 'active';
    const clockStarted = call.mediaUpAt !== null && room.call.mediaUpAt === null;
    const mediaOnly = clockStarted && call.status === room.call.status;
    room.call = call;
    if (becameActive) {
      this.jobs.ticks.activated(room);
      this.jobs.media.activated(room);
      this.jobs.maxDuration.schedule(room);
    }
    if (clockStarted) this.jobs.ticks.clockStarted(room);
    if (mediaOnly) return;
    const frame = encodeSequenced('call-state', stateData(callId, call));
    const t0 = preciseNow();
    const over = isTerminal(call.status);
    if (over) for (const participant of room.live.values()) for (const ack of participant.hangupAcks ?? []) ack();
    for (const participant of [...room.live.values()]) {
      // The socket closes next: what a handover hold keeps goes out before the final state.
      if (over) this.jobs.handover.releaseHeld(participant);
      this.jobs.relay.deliver(participant, frame, t0);
    }
    if (over) {
      for (const participant of [...room.live.values()]) participant.session.io.close(CLOSE_CODES.CALL_ENDED, `call ${call.status}`);
      this.ctx.forget(room);
    }
  }

  #retryOptions(callId: string, operation: string) {
    return {
      delaysMs: STORAGE_RETRY_DELAYS_MS,
      isFinal: isFinalStorageError,
      onRetry: (err: unknown, attempt: number) => this.ctx.deps.log.warn({ err, call: callId, operation, attempt }, 'call storage failed; retrying'),
    };
  }
}
