import type { CallAssignment, CallPlan } from './call-driver.js';
import type { WorkerUsage } from './generator-usage.js';
import type { StatsDelta } from './stats.js';

/** Parent → worker. */
export type ToWorker =
  | { kind: 'init'; worker: number; api: string; plan: CallPlan; seed: string; localAddresses: string[] }
  | { kind: 'start'; call: CallAssignment }
  /** The host of call `index` has a renewed access token (for resumes and re-authentication). */
  | { kind: 'host-token'; index: number; token: string }
  | { kind: 'stop' };

/** Worker → parent. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'stats'; delta: StatsDelta; usage: WorkerUsage }
  | { kind: 'done'; index: number }
  | { kind: 'stopped'; delta: StatsDelta; usage: WorkerUsage };
