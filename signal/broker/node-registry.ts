/** Which signal nodes are alive; `signal/main.ts` picks the memory or Redis implementation. */
export interface NodeRegistry {
  readonly nodeId: string;
  /** Start heartbeating (every heartbeatMs, key TTL nodeTtlMs); resolves after the first beat. */
  start(): Promise<void>;
  /** True while `nodeId` has heartbeated within its TTL and not closed. */
  isAlive(nodeId: string): Promise<boolean>;
  /** Every node currently alive, this one included once started. */
  aliveNodes(): Promise<string[]>;
  /** Stop heartbeating and delete own key; idempotent. */
  close(): Promise<void>;
}
