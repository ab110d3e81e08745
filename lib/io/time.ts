/**
 * Every way parley waits for time, in one place. Use which when:
 *
 * | need | use | keeps the process running? |
 * | --- | --- | --- |
 * | bound an operation in flight (connect, read, write, handshake) | {@linkcode deadline} | no: the operation does |
 * | wait for time itself, and maybe stop waiting early | {@linkcode sleep} | yes, until it ends or is cancelled |
 * | a short wait that is always awaited to its end, on a fast path | {@linkcode pause} | yes |
 * | a limit that starts again whenever something happens (idleness) | {@linkcode Timer} | yes, while armed |
 *
 * Why three mechanisms: since Deno 2.8 the global `setTimeout` is Node's,
 * and the first call in a process loads Node's timer machinery, about 4 ms
 * of a 15 ms bare start-up, paid by every client on its way to connect.
 * {@linkcode deadline} uses V8's `Atomics.waitAsync` with a timeout, which
 * fires when the time is up and never holds the process open by itself;
 * {@linkcode pause} uses `AbortSignal.timeout`, which does not load Node's
 * timers either. {@linkcode sleep} and {@linkcode Timer} use `setTimeout`:
 * a client reaches them only once a session runs, where the cost no longer
 * shows (the server uses them before, where start-up is already paid).
 * (docs/design.md records this workaround and the test that watches it.)
 * Workaround for no upstream issue yet: see docs/design.md#deadlines and the canary in tests/workarounds_test.ts.
 *
 * @module
 */

/** A pending limit on an operation in flight. */
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

/** A pending sleep. */
export interface Sleep {
  /** Resolves when the time is up, or as soon as the sleep is cancelled. */
  readonly promise: Promise<void>;
  /** Stops the timer and resolves {@linkcode Sleep.promise} now. */
  cancel(): void;
}

/** Starts a timer of `ms` milliseconds that {@linkcode Sleep.cancel} can end early. */
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
 * process does not load Node's timers.
 */
export function pause(ms: number): Promise<void> {
  const signal = AbortSignal.timeout(ms);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/**
 * A one-shot timer that can be started again before it fires: an idle limit,
 * restarted whenever something happens. Nothing runs until {@linkcode start}.
 */
export class Timer {
  #ms: number;
  #onFire: () => void;
  #id: ReturnType<typeof setTimeout> | undefined;

  /** Creates a timer that calls `onFire` once `ms` milliseconds pass after a {@linkcode start}. */
  constructor(ms: number, onFire: () => void) {
    this.#ms = ms;
    this.#onFire = onFire;
  }

  /** Starts the timer, or starts it again from now. */
  start(): void {
    if (this.#id !== undefined) clearTimeout(this.#id);
    this.#id = setTimeout(() => {
      this.#id = undefined;
      this.#onFire();
    }, this.#ms);
  }

  /** Stops the timer; it fires only if started again. */
  stop(): void {
    if (this.#id === undefined) return;
    clearTimeout(this.#id);
    this.#id = undefined;
  }
}
