/**
 * A rate of new connections per source address: a token bucket each, so
 * that a source may open a burst of connections, then only so many a second.
 *
 * Eviction (see lib/net/admission.ts) makes sure a stranger cannot keep others
 * out by holding places; this makes sure he cannot make the server churn
 * instead, opening a new connection for every one it drops: each costs a
 * TLS handshake, and the server's time is everyone's.
 *
 * @module
 */

/** Options for {@linkcode RateLimit}. */
export interface RateLimitOptions {
  /** Connections a source may open at once, after a quiet time. */
  burst: number;
  /** Connections a source may open per second, over time. */
  perSecond: number;
  /** Most sources remembered; the longest quiet are forgotten first (and start again with a full bucket). */
  maxSources?: number;
  /** The time now, in ms; replaceable for tests. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Says whether a source may open one more connection now. */
export class RateLimit {
  #buckets = new Map<string, Bucket>();
  #burst: number;
  #perMs: number;
  #maxSources: number;
  #now: () => number;

  /** Creates a limit with a full bucket for every source. */
  constructor(options: RateLimitOptions) {
    this.#burst = options.burst;
    this.#perMs = options.perSecond / 1000;
    this.#maxSources = options.maxSources ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one connection's worth from `source`'s bucket; false when it is empty. */
  take(source: string): boolean {
    const now = this.#now();
    const bucket = this.#buckets.get(source) ?? { tokens: this.#burst, at: now };
    this.#buckets.delete(source);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    // A full bucket need not be remembered: a source that comes back gets one anyway.
    if (bucket.tokens < this.#burst) this.#buckets.set(source, bucket);
    if (this.#buckets.size > this.#maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
    return allowed;
  }
}
