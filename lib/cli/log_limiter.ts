/**
 * Keeping the server's log readable under a flood: at most a few lines per
 * source address in each window of time, and then one line that counts the
 * ones left out, so that nothing happens without a trace.
 *
 * @module
 */

import { type Sleep, sleep } from "../io/time.ts";

/** Options for {@linkcode LogLimiter}. */
export interface LogLimiterOptions {
  /** Lines shown per source in one window. */
  perWindow?: number;
  /** Length of a window (ms). */
  windowMs?: number;
  /** Most sources remembered; the longest quiet are forgotten first (their count is shown then). */
  maxSources?: number;
  /** The time now, in ms; replaceable for tests. */
  now?: () => number;
}

interface Window {
  start: number;
  shown: number;
  left: number;
}

/** Passes log lines on to `emit`, a few per source at a time, and counts the rest. */
export class LogLimiter implements Disposable {
  #emit: (line: string) => void;
  #windows = new Map<string, Window>();
  #perWindow: number;
  #windowMs: number;
  #maxSources: number;
  #now: () => number;
  #timer: Sleep | undefined;

  /** Creates a limiter; by default 5 lines per source every 10 s, for up to 1024 sources. */
  constructor(emit: (line: string) => void, options: LogLimiterOptions = {}) {
    this.#emit = emit;
    this.#perWindow = options.perWindow ?? 5;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#maxSources = options.maxSources ?? 1024;
    this.#now = options.now ?? Date.now;
  }

  /** Logs `line`, about `source`, unless this source has had its share of the window. */
  log(source: string, line: string): void {
    const now = this.#now();
    let window = this.#windows.get(source);
    this.#windows.delete(source);
    if (window === undefined || now - window.start >= this.#windowMs) {
      if (window !== undefined) this.#summarise(source, window);
      window = { start: now, shown: 0, left: 0 };
    }
    if (window.shown < this.#perWindow) {
      window.shown++;
      this.#emit(line);
    } else {
      window.left++;
      this.#timer ??= this.#tick();
    }
    this.#windows.set(source, window);
    if (this.#windows.size > this.#maxSources) {
      const [oldest, old] = this.#windows.entries().next().value!;
      this.#windows.delete(oldest);
      this.#summarise(oldest, old);
    }
  }

  /** Counts what is still left out, now, and stops the timer. */
  [Symbol.dispose](): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const [source, window] of this.#windows) this.#summarise(source, window);
    this.#windows.clear();
  }

  /** Once a window, counts what each source had left out, while any source has some. */
  #tick(): Sleep {
    const timer = sleep(this.#windowMs);
    timer.promise.then(() => {
      if (this.#timer !== timer) return;
      this.#timer = undefined;
      const now = this.#now();
      for (const [source, window] of this.#windows) {
        if (now - window.start < this.#windowMs) continue;
        this.#summarise(source, window);
        this.#windows.delete(source);
      }
      if ([...this.#windows.values()].some((window) => window.left > 0)) this.#timer = this.#tick();
    });
    return timer;
  }

  #summarise(source: string, window: Window): void {
    if (window.left === 0) return;
    this.#emit(`(${window.left} more line${window.left === 1 ? "" : "s"} about ${source} not shown)`);
    window.left = 0;
  }
}
