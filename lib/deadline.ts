/**
 * Time limits on operations in flight, without timers.
 *
 * Since Deno 2.8 the global `setTimeout` is Node's, and the first call in a
 * process loads Node's timer machinery: about 6 ms, a quarter of a bare
 * start-up, paid by every client on its way to connect. A limit that only
 * matters while a connect, read or write is pending needs no timer of its
 * own to keep the process alive: the pending operation does that. V8's
 * `Atomics.waitAsync` with a timeout is such a limit: it fires when the time
 * is up and never holds the process open by itself.
 *
 * So: {@linkcode deadline} bounds something that keeps the process running;
 * `sleep` (lib/sleep.ts) waits for time itself.
 *
 * @module
 */

/** A pending limit. */
export interface Deadline extends Disposable {
  /** Resolves when the time is up, or as soon as the deadline is cancelled. */
  readonly promise: Promise<void>;
  /** True once the time ran out; false while it runs and after a cancel. */
  readonly expired: boolean;
  /** Ends the deadline now, without it expiring. Disposing does the same. */
  cancel(): void;
}

/**
 * Starts a deadline of `ms` milliseconds; `onExpire` runs when the time is
 * up. Only for bounding an operation in flight: a deadline alone does not
 * keep the process running.
 */
export function deadline(ms: number, onExpire?: () => void): Deadline {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const wait = Atomics.waitAsync(cell, 0, 0, Math.max(0, ms));
  let expired = false;
  const promise = Promise.resolve(wait.value).then((outcome) => {
    // "ok" is a cancel (a notify on the cell); "timed-out" is the time.
    if (outcome !== "timed-out") return;
    expired = true;
    onExpire?.();
  });
  const cancel = () => void Atomics.notify(cell, 0);
  return {
    promise,
    get expired() {
      return expired;
    },
    cancel,
    [Symbol.dispose]: cancel,
  };
}
