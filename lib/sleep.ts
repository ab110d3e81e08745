/**
 * Waiting for time itself: a timer that can be ended early, so that no timer
 * outlives its purpose, and a short pause that cannot.
 *
 * @module
 */

/** A pending sleep. */
export interface Sleep {
  /** Resolves when the time is up, or as soon as the sleep is cancelled. */
  readonly promise: Promise<void>;
  /** Stops the timer and resolves {@linkcode Sleep.promise} now. */
  cancel(): void;
}

/** Starts a timer of `ms` milliseconds. */
export function sleep(ms: number): Sleep {
  const { promise, resolve } = Promise.withResolvers<void>();
  const id = setTimeout(resolve, ms);
  return {
    promise,
    cancel() {
      clearTimeout(id);
      resolve();
    },
  };
}

/**
 * Waits `ms` milliseconds, and cannot be ended early: for a short wait that
 * is always awaited to its end. Unlike {@linkcode sleep}, its first use in a
 * process does not load Node's timers (the global `setTimeout` since Deno
 * 2.8), which costs about 6 ms.
 */
export function pause(ms: number): Promise<void> {
  const signal = AbortSignal.timeout(ms);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
