import type { Logger } from '../../shared/runtime/logger.js';
import type { Broker } from '../broker/index.js';
import type { Rooms } from './rooms.js';

/** After a broker outage, dead-node sweeps wait this many node TTLs: every node must heartbeat again first. */
export const DEAD_NODE_HOLD_TTLS = 2;

/**
 * Joins the rooms to the broker: this node's channel (frames and control messages from other
 * nodes) and the calls channel (call states announced by other nodes and the API). Subscribes
 * again when the broker comes back, and then resynchronises the rooms.
 */
export class NodeLink {
  #subscribed = false;
  #nodeSubscribed = false;
  #inProgress: Promise<void> | undefined;
  #wasDown = false;
  #offStatus: (() => void) | undefined;

  constructor(private readonly deps: { broker: Broker; nodeId: string; rooms: Rooms; nodeTtlMs: number; log: Logger; now?: () => number }) {}

  /**
   * Subscribes and starts watching the broker's status. Resolves once subscribed; a failure is
   * logged (the subscription is retried when the broker is back), never thrown.
   */
  start(): Promise<void> {
    const { broker, rooms, log, nodeTtlMs } = this.deps;
    const now = this.deps.now ?? Date.now;
    const subscribing = this.#subscribe().catch((err: unknown) => log.warn({ err }, 'node channel not subscribed yet; retrying when Redis is back'));
    this.#offStatus = broker.onStatus((status) => {
      if (status === 'down') {
        this.#wasDown = true;
        return;
      }
      if (!this.#subscribed) this.#subscribe().catch((err: unknown) => log.warn({ err }, 'node channel subscribe failed'));
      if (this.#wasDown) {
        this.#wasDown = false;
        rooms.holdDeadNodeSweepUntil(now() + nodeTtlMs * DEAD_NODE_HOLD_TTLS);
        rooms.resync().catch(() => undefined);
      }
    });
    return subscribing;
  }

  /** Stops watching the broker's status (the broker's own close drops the subscriptions). */
  close(): void {
    this.#offStatus?.();
    this.#offStatus = undefined;
  }

  #subscribe(): Promise<void> {
    const { broker, nodeId, rooms } = this.deps;
    return (this.#inProgress ??= (async () => {
      try {
        if (!this.#nodeSubscribed) {
          await broker.subscribe(broker.nodeChannel(nodeId), (m) => rooms.onNodeMessage(m));
          this.#nodeSubscribed = true;
        }
        await broker.subscribe(rooms.callsChannel, (m) => rooms.onCallsMessage(m), { skipOwn: true });
        this.#subscribed = true;
      } finally {
        this.#inProgress = undefined;
      }
    })());
  }
}
