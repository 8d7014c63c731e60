import { Histogram } from '../scripts/loadtest/histogram.js';
import type { WireFrame } from './wire-frames.js';

/**
 * Relay latency as loopback saw it: for each relayed frame, from the moment the sender's copy
 * crossed into a node's port to the moment a node's copy left for the receiver. Neither client's
 * own scheduling is in it; everything between is (the node's socket queue and event loop, Redis
 * and the second node for a frame across nodes).
 *
 * `nodes` are the nodes' listening endpoints (`127.0.0.1:3001`): a client's own port may be the same
 * number on another address. `keyOf` names a frame (undefined: not one to time); a frame is `local`
 * when it leaves by the node endpoint it came in on, `remote` otherwise.
 */
export class WireRelayLatency {
  readonly local = new Histogram();
  readonly remote = new Histogram();
  matched = 0;
  /** Copies leaving a node whose incoming frame was not captured. */
  unmatched = 0;
  /** Incoming frames whose key was already waiting (the later one is timed). */
  duplicates = 0;
  readonly #incoming = new Map<string, { atMs: number; node: string }>();

  constructor(private readonly nodes: ReadonlySet<string>, private readonly keyOf: (text: string) => string | undefined) {}

  add(frame: WireFrame): void {
    if (frame.opcode !== 0x1 || !frame.fin) return;
    const toNode = this.nodes.has(frame.dst);
    if (toNode === this.nodes.has(frame.src)) return;
    const key = this.keyOf(frame.payload.toString('latin1'));
    if (key === undefined) return;
    if (toNode) {
      if (this.#incoming.has(key)) this.duplicates += 1;
      this.#incoming.set(key, { atMs: frame.atMs, node: frame.dst });
      return;
    }
    const sent = this.#incoming.get(key);
    if (!sent) {
      this.unmatched += 1;
      return;
    }
    this.#incoming.delete(key);
    this.matched += 1;
    (sent.node === frame.src ? this.local : this.remote).record(frame.atMs - sent.atMs);
  }

  /** Incoming frames never seen leaving a node. */
  get undelivered(): number {
    return this.#incoming.size;
  }
}
