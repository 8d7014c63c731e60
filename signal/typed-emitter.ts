import type { Logger } from '../shared/runtime/logger.js';

type Listener<E> = (event: E) => void;

/**
 * An emitter typed by an event map (`{ name: payload }`) whose listeners cannot break it: a
 * listener's exception is logged and the other listeners still run.
 */
export class TypedEmitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();

  constructor(private readonly log?: Logger) {}

  /** Adds a listener; the returned function removes it. */
  on<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => void set.delete(listener as Listener<never>);
  }

  emit<K extends keyof M>(name: K, event: M[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<M[K]>)(event);
      } catch (err) {
        this.log?.error({ err, event: name }, 'event listener failed');
      }
    }
  }

  /** Drops every listener (an owner that closed). */
  clear(): void {
    this.#listeners.clear();
  }
}
