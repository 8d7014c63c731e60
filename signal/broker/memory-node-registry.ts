import type { NodeRegistry } from './node-registry.js';

/** Options of `MemoryNodeRegistry`. */
export interface MemoryNodeRegistryOptions {
  nodeId: string;
}

/** The single-node registry: only this node exists, alive between `start()` and `close()`. */
export class MemoryNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  #state: 'new' | 'started' | 'closed' = 'new';

  constructor(options: MemoryNodeRegistryOptions) {
    this.nodeId = options.nodeId;
  }

  async start(): Promise<void> {
    if (this.#state === 'closed') throw new Error('node registry is closed');
    this.#state = 'started';
  }

  async isAlive(nodeId: string): Promise<boolean> {
    return this.#state === 'started' && nodeId === this.nodeId;
  }

  async aliveNodes(): Promise<string[]> {
    return this.#state === 'started' ? [this.nodeId] : [];
  }

  async close(): Promise<void> {
    this.#state = 'closed';
  }
}
