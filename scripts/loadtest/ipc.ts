import type { CallAssignment, CallPlan } from './call-driver.js';
import type { StatsDelta } from './stats.js';

/** Parent → worker. */
export type ToWorker =
  | { kind: 'init'; worker: number; api: string; plan: CallPlan; seed: string; localAddresses: string[] }
  | { kind: 'start'; call: CallAssignment }
  | { kind: 'stop' };

/** Worker → parent. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'stats'; delta: StatsDelta }
  | { kind: 'done'; index: number }
  | { kind: 'stopped'; delta: StatsDelta };
