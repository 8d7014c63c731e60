/** A token bucket: `burst` tokens, refilled at `ratePerSec`; `take()` is O(1) and allocation-free. */
export class TokenBucket {
  // Declared with a number, not left undefined, so both stay double fields written in place (see Session).
  #tokens = 0;
  #at = 0;

  constructor(private readonly ratePerSec: number, private readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#at = now;
  }

  /**
   * Takes one token at time `now` (ms); false when the bucket is empty. A clock that steps back
   * earns nothing, and refills resume from the new reading (they do not wait for the old one).
   */
  take(now: number): boolean {
    const elapsed = now - this.#at;
    if (elapsed > 0) this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSec) / 1000);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
