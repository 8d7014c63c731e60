import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_CACHE_RETRY_MS, CachedCallStore, MemoryCallCache, MemoryCallStore, type Call, type CallCache } from '../../../shared/calls/index.js';
import { cachedCallFixture } from '../../contract/call-cache.contract.js';

/** A cache whose reads and writes can be made to fail or hang. */
class UnreliableCache implements CallCache {
  readonly inner = new MemoryCallCache();
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  /** Resolves the reads that hang (as Redis would, late). */
  readonly #held: Array<() => void> = [];

  async get(id: string): Promise<Call | null> {
    if (this.mode === 'fail') throw new Error('redis down');
    if (this.mode === 'hang') await new Promise<void>((resolve) => this.#held.push(resolve));
    return this.inner.get(id);
  }

  async put(call: Call): Promise<void> {
    if (this.mode === 'fail') throw new Error('redis down');
    if (this.mode === 'hang') await new Promise<void>((resolve) => this.#held.push(resolve));
    return this.inner.put(call);
  }

  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

describe('CachedCallStore', () => {
  let store: MemoryCallStore;
  let cache: UnreliableCache;
  let cached: CachedCallStore;
  const failures: string[] = [];

  beforeEach(() => {
    store = new MemoryCallStore();
    cache = new UnreliableCache();
    failures.length = 0;
    cached = new CachedCallStore(store, cache, { timeoutMs: 50, onFailure: (_err, operation, id) => failures.push(`${operation}:${id}`) });
  });
  afterEach(() => {
    cache.release();
    vi.useRealTimers();
  });

  it('writes every call it creates, moves or reads to the cache before returning, and serves lookups from it', async () => {
    const call = await cached.create(cachedCallFixture(0));
    expect((await cache.inner.get(call.id))?.status).toBe('ringing');
    await cached.transition(call.id, 'active');
    expect((await cache.inner.get(call.id))?.status).toBe('active');
    const get = vi.spyOn(store, 'get');
    expect(await cached.lookup(call.id)).toMatchObject({ source: 'cache', call: { status: 'active', version: 1 } });
    expect(get).not.toHaveBeenCalled();
  });

  it('a miss reads the store and caches what it read; an unknown call is null', async () => {
    const call = await store.create(cachedCallFixture(0));
    expect(await cached.lookup(call.id)).toMatchObject({ source: 'store', call: { id: call.id } });
    await vi.waitFor(async () => expect(await cache.inner.get(call.id)).not.toBeNull());
    expect(await cached.lookup(call.id)).toMatchObject({ source: 'cache' });
    expect(await cached.lookup('nope')).toEqual({ source: 'store', call: null });
  });

  it('a failing cache costs only speed: lookups read the store, transitions still apply, failures are reported', async () => {
    const call = await cached.create(cachedCallFixture(0));
    cache.mode = 'fail';
    expect(await cached.lookup(call.id)).toMatchObject({ source: 'store', call: { status: 'ringing' } });
    expect((await cached.transition(call.id, 'ended')).changed).toBe(true);
    expect((await store.get(call.id))?.status).toBe('ended');
    expect(failures).toContain(`get:${call.id}`);
    expect(failures).toContain(`put:${call.id}`);
  });

  it('a write the cache refused is tried again until it takes it, unless a newer state was written meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const call = await cached.create(cachedCallFixture(0));
    cache.mode = 'fail';
    await cached.transition(call.id, 'ended');
    expect(cached.unwritten).toBe(1);
    await vi.advanceTimersByTimeAsync(CALL_CACHE_RETRY_MS);
    expect((await cache.inner.get(call.id))?.status).toBe('ringing');
    cache.mode = 'ok';
    await vi.advanceTimersByTimeAsync(CALL_CACHE_RETRY_MS);
    expect((await cache.inner.get(call.id))?.status).toBe('ended');
    expect(cached.unwritten).toBe(0);
    cached.close();
  });

  it('a stalled cache holds neither a lookup nor a transition past the timeout', async () => {
    const call = await cached.create(cachedCallFixture(0));
    cache.mode = 'hang';
    const started = Date.now();
    expect(await cached.lookup(call.id)).toMatchObject({ source: 'store' });
    expect((await cached.transition(call.id, 'active')).changed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a cache answer that comes after the timeout but before the store is still taken', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const call = await cached.create(cachedCallFixture(0));
    cache.mode = 'hang';
    let storeAnswers!: () => void;
    const storeHeld = new Promise<void>((resolve) => { storeAnswers = resolve; });
    vi.spyOn(store, 'get').mockImplementation(async () => { await storeHeld; return null; });
    const answer = cached.lookup(call.id);
    await vi.advanceTimersByTimeAsync(60);
    cache.release();
    expect(await answer).toMatchObject({ source: 'cache', call: { id: call.id } });
    storeAnswers();
  });
});
