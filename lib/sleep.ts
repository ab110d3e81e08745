/**
 * A timer that can be ended early, so that no timer outlives its purpose.
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
