import type { HistogramData } from '../scripts/loadtest/histogram.js';

/**
 * Marks the SDP or candidate text of a bench frame: `x-bench <tag><ms>`, the tag `s` (signaling
 * phase) or `r` (relay phase), ms the sending worker's `performance.now()`.
 */
export const STAMP = 'x-bench ';

const RELAY_CANDIDATE = /candidate:\d+ [^"\\]* x-bench r\d+\.\d+/;

/**
 * The text that identifies one relay-phase frame wherever it is seen: its candidate
 * (`candidate:<k> … network-id <worker> x-bench r<ms>`), the same in the frame a client sends and in
 * the copy a node delivers. Undefined for any other text.
 */
export function relayFrameKey(text: string): string | undefined {
  if (!text.includes(`${STAMP}r`)) return undefined;
  return RELAY_CANDIDATE.exec(text)?.[0];
}

/** What a worker needs to own calls `firstIndex … firstIndex + count - 1`. */
export interface WorkerInit {
  worker: number;
  /** `ws://127.0.0.1:<port>` of every node, by node index. */
  nodeUrls: string[];
  /** Source addresses to spread sockets over (empty: let the kernel choose). */
  localAddresses: string[];
  mongoUrl: string;
  database: string;
  keysDir: string;
  issuer: string;
  tokenTtlSec: number;
  firstIndex: number;
  count: number;
  /** Calls created concurrently by this worker in `prepare`. */
  createConcurrency: number;
  connectTimeoutMs: number;
  setupTimeoutMs: number;
  /** Extra attempts per call when a socket fails before the call is active. */
  retries: number;
  /** Setups in flight per worker at most (the ramp waits above it). */
  maxInflight: number;
}

/** Parent → worker. Every command but `init` and `stop` is answered by one `result` of the same phase. */
export type ToWorker =
  | { kind: 'init'; init: WorkerInit }
  | { kind: 'prepare' }
  | { kind: 'setup'; upto: number; rate: number }
  | { kind: 'signaling'; rate: number; timeoutMs: number }
  | { kind: 'relay'; rate: number; durationMs: number; drainMs: number; tickMs: number }
  | { kind: 'pings'; everyMs: number; durationMs: number; timeoutMs: number }
  | { kind: 'hangup'; rate: number; timeoutMs: number }
  | { kind: 'stop' };

export type PhaseName = Exclude<ToWorker['kind'], 'init' | 'stop'>;

/** Counts by reason, e.g. `{"close:1006": 2}`. */
export type Reasons = Record<string, number>;

/** Latencies split by path: both peers on one node (`local`) or on two (`remote`, through Redis). */
export interface PathHistograms {
  local: HistogramData;
  remote: HistogramData;
}

/** Fields every phase result carries. */
export interface PhaseCommon {
  /** Sockets of this worker open when the phase ended. */
  open: number;
  /** Sockets of active calls that closed unexpectedly during the phase, by `close:<code>`. */
  drops: Reasons;
  /** This worker's event-loop delay during the phase (ms). */
  loopDelayMs: { p99: number; max: number };
  wallMs: number;
}

export interface PhaseResults {
  prepare: { created: number; failures: Reasons };
  setup: { attempted: number; active: number; failures: Reasons; retries: Reasons; setupMs: HistogramData };
  signaling: { calls: number; completed: number; failures: Reasons; frames: number; latency: PathHistograms; negotiationMs: HistogramData };
  relay: { calls: number; sent: number; unsent: number; received: number; sendMs: number; latency: PathHistograms };
  pings: { sent: number; ok: number; failures: Reasons; rttMs: HistogramData };
  hangup: { calls: number; completed: number; failures: Reasons; hangupMs: HistogramData };
}

/** Worker → parent. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'progress'; phase: PhaseName; done: number; total: number; open: number }
  | { [P in PhaseName]: { kind: 'result'; phase: P; common: PhaseCommon; result: PhaseResults[P] } }[PhaseName]
  | { kind: 'error'; message: string };
