import { Histogram } from '../scripts/loadtest/histogram.js';
import type { WireFrame } from './wire-frames.js';

/**
 * Relay latency as loopback saw it: for each relayed frame, from the moment the sender's copy
 * crossed into a node's port to the moment a node's copy left for the receiver. Neither client's
 * own scheduling is in it; everything between is (the node's socket queue and event loop, Redis
 * and the second node for a frame across nodes).
 *
 * `keyOf` names a frame (undefined: not one to time); a frame is `local` when it leaves by the
 * node port it came in on, `remote` otherwise.
 */
export class WireRelayLatency {
  readonly local = new Histogram();
  readonly remote = new Histogram();
  matched = 0;
  /** Copies leaving a node whose incoming frame was not captured. */
  unmatched = 0;
  /** Incoming frames whose key was already waiting (the later one is timed). */
  duplicates = 0;
  readonly #incoming = new Map<string, { atMs: number; port: number }>();

  constructor(private readonly nodePorts: ReadonlySet<number>, private readonly keyOf: (text: string) => string | undefined) {}

  add(frame: WireFrame): void {
    if (frame.opcode !== 0x1 || !frame.fin) return;
    const toNode = this.nodePorts.has(frame.dstPort);
    if (toNode === this.nodePorts.has(frame.srcPort)) return;
    const key = this.keyOf(frame.payload.toString('latin1'));
    if (key === undefined) return;
    if (toNode) {
      if (this.#incoming.has(key)) this.duplicates += 1;
      this.#incoming.set(key, { atMs: frame.atMs, port: frame.dstPort });
      return;
    }
    const sent = this.#incoming.get(key);
    if (!sent) {
      this.unmatched += 1;
      return;
    }
    this.#incoming.delete(key);
    this.matched += 1;
    (sent.port === frame.srcPort ? this.local : this.remote).record(frame.atMs - sent.atMs);
  }

  /** Incoming frames never seen leaving a node. */
  get undelivered(): number {
    return this.#incoming.size;
  }
}
