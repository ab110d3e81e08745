/**
 * Slowing down repeated failures from one address, so that guessing the
 * shared secret is slow; successes and time clear the record.
 *
 * @module
 */

/** Options for {@linkcode FailureThrottle}. */
export interface FailureThrottleOptions {
  /** Delay after the first failure (ms); it doubles with each further one. */
  baseMs?: number;
  /** Longest delay (ms). */
  maxMs?: number;
  /** A record is forgotten this long after its last failure (ms). */
  forgetMs?: number;
  /** Most addresses remembered; the oldest are dropped first. */
  maxEntries?: number;
  /** The time now, in ms; replaceable for tests. */
  now?: () => number;
}

interface Record {
  failures: number;
  last: number;
}

/** Remembers failures per address and says how long to wait before the next try. */
export class FailureThrottle {
  #records = new Map<string, Record>();
  #baseMs: number;
  #maxMs: number;
  #forgetMs: number;
  #maxEntries: number;
  #now: () => number;

  /** Creates a throttle; by default 250 ms, doubling, up to 5 s, forgotten after 10 minutes. */
  constructor(options: FailureThrottleOptions = {}) {
    this.#baseMs = options.baseMs ?? 250;
    this.#maxMs = options.maxMs ?? 5000;
    this.#forgetMs = options.forgetMs ?? 10 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** How long to wait before trying `address` again (ms): 0 when it has no recent failure. */
  delayFor(address: string): number {
    const record = this.#records.get(address);
    if (record === undefined) return 0;
    if (this.#now() - record.last > this.#forgetMs) {
      this.#records.delete(address);
      return 0;
    }
    return Math.min(this.#baseMs * 2 ** (record.failures - 1), this.#maxMs);
  }

  /** Records a failure from `address`. */
  failed(address: string): void {
    const record = this.#records.get(address);
    this.#records.delete(address);
    this.#records.set(address, { failures: (record?.failures ?? 0) + 1, last: this.#now() });
    if (this.#records.size > this.#maxEntries) {
      this.#records.delete(this.#records.keys().next().value!);
    }
  }

  /** Records a success from `address`: its failures are forgotten. */
  succeeded(address: string): void {
    this.#records.delete(address);
  }
}
