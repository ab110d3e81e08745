/**
 * Waiting in tests, never for a fixed time when a condition can be named:
 *
 * | need | use |
 * | --- | --- |
 * | something to happen (a line, a state, a count) | {@linkcode waitFor} |
 * | something to stop moving, when nothing marks the stop (a reader held back) | {@linkcode waitForSteady} |
 * | something NOT to happen for a while (a negative assertion) | {@linkcode quietFor} |
 *
 * Every wait is bounded in time and in the number of looks, and fails with
 * a message naming what it waited for.
 *
 * @module
 */

import { WAIT_MS } from "./process.ts";

/** Options for {@linkcode waitFor}. */
export interface WaitOptions {
  /** What is waited for, as the failure message names it: "the server to listen". */
  what: string;
  /** Fail after this long (ms); {@linkcode WAIT_MS} by default. */
  timeoutMs?: number;
  /** Time between looks (ms); 10 by default. */
  intervalMs?: number;
  /** More to say when the wait fails (the screen, the log so far), asked for only then. */
  detail?: () => string;
}

/** Resolves after `ms`; always awaited to its end, so that no timer is left behind. */
function tick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Looks at `condition` until it holds, every `intervalMs`, and throws once
 * `timeoutMs` have passed (or as many looks as fit in that time were made)
 * without it holding.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? WAIT_MS;
  const intervalMs = options.intervalMs ?? 10;
  const end = performance.now() + timeoutMs;
  const maxLooks = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 1;
  for (let look = 1;; look++) {
    if (await condition()) return;
    if (performance.now() >= end || look >= maxLooks) {
      const detail = options.detail?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}${detail ? `:\n${detail}` : ""}`);
    }
    await tick(intervalMs);
  }
}

/**
 * Lets `ms` pass on purpose, for a test that checks that something does NOT
 * happen meanwhile (no event marks a non-event). `why` says what would
 * happen within that time if the code were wrong; it is there for the reader.
 */
export function quietFor(ms: number, why: string): Promise<void> {
  if (why.trim() === "") throw new Error("quietFor needs a reason");
  return tick(ms);
}

/** Options for {@linkcode waitForSteady}. */
export interface SteadyOptions {
  /** What is waited for: "the client to stop reading its input". */
  what: string;
  /** How long the value must stay the same to count as stopped (ms). */
  quietMs: number;
  /** Fail after this long (ms); {@linkcode WAIT_MS} by default. */
  timeoutMs?: number;
}

/**
 * Waits until `measure` (a count of bytes read, say) stops changing for
 * `quietMs`: for progress that stops without any event to say so, such as a
 * reader held back by a peer that reads nothing. Resolves to the last value.
 */
export async function waitForSteady(measure: () => number | Promise<number>, options: SteadyOptions): Promise<number> {
  let last = await measure();
  await waitFor(async () => {
    await quietFor(options.quietMs, `${options.what}: a value that still moves changes within this time`);
    const now = await measure();
    const steady = now === last;
    last = now;
    return steady;
  }, { what: options.what, timeoutMs: options.timeoutMs, intervalMs: 0 });
  return last;
}
