// Token-bucket rate limiting, keyed by (user, event).

/** Default limits per event: `rate` tokens per second, bucket size `burst`. */
export const DEFAULT_RATE_LIMITS = Object.freeze({
  comment: { rate: 1, burst: 1 },
  signal: { rate: 50, burst: 200 },
  broadcast: { rate: 20, burst: 50 },
  relay: { rate: 200, burst: 400 },
});

export class RateLimiter {
  /**
   * @param {Record<string, {rate:number, burst?:number} | false | null>} limits
   *        merged over DEFAULT_RATE_LIMITS; `false`/`null` disables an event's limit.
   */
  constructor(limits = {}, now = () => performance.now()) {
    this.limits = {};
    for (const [event, spec] of Object.entries({ ...DEFAULT_RATE_LIMITS, ...limits })) {
      if (!spec) continue;
      const rate = Number(spec.rate);
      if (!(rate > 0)) throw new TypeError(`rate limit for "${event}" needs a positive rate`);
      const burst = spec.burst === undefined ? Math.max(1, rate) : Number(spec.burst);
      if (!(burst >= 1)) throw new TypeError(`rate limit for "${event}" needs burst >= 1`);
      this.limits[event] = { rate, burst };
    }
    this.now = now;
    this.buckets = new Map(); // `${event}\0${key}` -> {tokens, at}
  }

  /** Takes one token; returns true when allowed. Events without a limit are always allowed. */
  take(key, event) {
    const spec = this.limits[event] || this.limits['*'];
    if (!spec) return true;
    const id = `${event}\0${key}`;
    const t = this.now();
    let b = this.buckets.get(id);
    if (!b) {
      b = { tokens: spec.burst, at: t };
      this.buckets.set(id, b);
    } else {
      b.tokens = Math.min(spec.burst, b.tokens + ((t - b.at) / 1000) * spec.rate);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Drops buckets that are full again (nothing to remember). Call periodically. */
  sweep() {
    const t = this.now();
    for (const [id, b] of this.buckets) {
      const event = id.slice(0, id.indexOf('\0'));
      const spec = this.limits[event] || this.limits['*'];
      if (!spec || b.tokens + ((t - b.at) / 1000) * spec.rate >= spec.burst) this.buckets.delete(id);
    }
  }
}
