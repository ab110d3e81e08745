/**
 * Every way parley waits for time. Deadlines fire while an operation is
 * pending, end at once when cancelled, and never keep a process running on
 * their own; a pause waits its time without Node's timers; a cancelled sleep
 * ends at once; a Timer fires once per start, restarts, stops, and leaves no
 * timer behind.
 */

import assert from "node:assert/strict";
import { deadline, pause, sleep, Timer } from "../../lib/io/time.ts";
import { quietFor, waitFor } from "../support/wait.ts";

Deno.test("a deadline fires while a read is pending, and can end it", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  const started = performance.now();
  const limit = deadline(100, () => server.close());
  // Nothing is ever sent: only the deadline ends this read.
  const read = await server.read(new Uint8Array(8)).catch((error: unknown) => error);
  assert.ok(
    read === null || read instanceof Deno.errors.BadResource || read instanceof Deno.errors.Interrupted,
    `read ended with ${read}`,
  );
  await limit.promise;
  assert.equal(limit.expired, true);
  assert.ok(performance.now() - started >= 90, "fired too early");
  client.close();
});

Deno.test("a cancelled deadline resolves at once and does not expire", async () => {
  let fired = false;
  const limit = deadline(60_000, () => fired = true);
  assert.equal(limit.expired, false);
  const started = performance.now();
  limit.cancel();
  await limit.promise;
  assert.ok(performance.now() - started < 1000);
  assert.equal(limit.expired, false);
  assert.equal(fired, false);
});

Deno.test("leaving a scope disposes of its deadline", async () => {
  let promise: Promise<void>;
  {
    using limit = deadline(60_000);
    promise = limit.promise;
  }
  await promise;
});

Deno.test("a zero or negative deadline expires at once", async () => {
  for (const ms of [0, -5]) {
    let fired = false;
    const limit = deadline(ms, () => fired = true);
    await limit.promise;
    assert.equal(limit.expired, true);
    assert.equal(fired, true);
  }
});

Deno.test("a pending deadline does not keep the process running", async () => {
  // A 30 s deadline, never cancelled: the program must still end at once
  // (and if it does not, the deadline itself ends the wait, and the test fails).
  const url = new URL("../../lib/io/time.ts", import.meta.url).href;
  const script = `import { deadline } from "${url}"; deadline(30_000, () => console.log("fired"));`;
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-prompt", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.equal(new TextDecoder().decode(output.stdout), "");
  assert.ok(performance.now() - started < 10_000, "the process waited for the deadline");
});

Deno.test("pause waits for its time", async () => {
  const started = performance.now();
  await pause(30);
  assert.ok(performance.now() - started >= 29, `resolved after ${performance.now() - started} ms`);
});

Deno.test("pause does without the global setTimeout, which is Node's and slow to load", async () => {
  const original = globalThis.setTimeout;
  globalThis.setTimeout = (() => {
    throw new Error("setTimeout was called");
  }) as unknown as typeof setTimeout;
  try {
    await pause(5);
  } finally {
    globalThis.setTimeout = original;
  }
});

Deno.test("a cancelled sleep resolves at once and leaves no timer behind", async () => {
  const started = performance.now();
  const wait = sleep(60_000);
  wait.cancel();
  await wait.promise;
  assert.ok(performance.now() - started < 1000);
});

/**
 * Stands in for the global `setTimeout` and `clearTimeout` while installed:
 * timers run only when the test moves the time on, so that what a Timer
 * does when is exact, whatever the machine's load.
 */
class FakeTimers implements Disposable {
  now = 0;
  readonly #pending = new Map<number, { due: number; callback: () => void }>();
  #nextId = 1;
  readonly #setTimeout = globalThis.setTimeout;
  readonly #clearTimeout = globalThis.clearTimeout;

  constructor() {
    globalThis.setTimeout = ((callback: () => void, ms = 0) => {
      const id = this.#nextId++;
      this.#pending.set(id, { due: this.now + ms, callback });
      return id;
    }) as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((id?: number) => {
      if (id !== undefined) this.#pending.delete(id);
    }) as unknown as typeof clearTimeout;
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Moves the time on by `ms`, running each timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.#pending].filter(([, timer]) => timer.due <= end).sort(([, a], [, b]) => a.due - b.due)[0];
      if (next === undefined) break;
      const [id, timer] = next;
      this.#pending.delete(id);
      this.now = timer.due;
      timer.callback();
    }
    this.now = end;
  }

  [Symbol.dispose](): void {
    globalThis.setTimeout = this.#setTimeout;
    globalThis.clearTimeout = this.#clearTimeout;
  }
}

Deno.test("a Timer does nothing until started, then fires once, its time after the start", () => {
  using timers = new FakeTimers();
  let fired = 0;
  const timer = new Timer(100, () => fired++);
  timers.advance(1000);
  assert.equal(fired, 0, "fired without a start");
  assert.equal(timers.pending, 0);
  timer.start();
  timers.advance(99);
  assert.equal(fired, 0, "fired early");
  timers.advance(1);
  assert.equal(fired, 1);
  timers.advance(1000);
  assert.equal(fired, 1, "fired again without a new start");
  assert.equal(timers.pending, 0);
});

Deno.test("a Timer started again before it fires fires only once, its time after the last start", () => {
  using timers = new FakeTimers();
  let fired = 0;
  const timer = new Timer(100, () => fired++);
  timer.start();
  timers.advance(60);
  timer.start();
  timers.advance(60);
  assert.equal(fired, 0, "fired at the first start's time");
  timer.start();
  timer.start();
  assert.equal(timers.pending, 1, "a start left the previous timer running");
  timers.advance(99);
  assert.equal(fired, 0, "fired before the last start's time");
  timers.advance(1);
  assert.equal(fired, 1);
  timers.advance(1000);
  assert.equal(fired, 1);
});

Deno.test("a Timer started again after it fired fires again", () => {
  using timers = new FakeTimers();
  let fired = 0;
  const timer = new Timer(100, () => fired++);
  timer.start();
  timers.advance(100);
  timer.start();
  timers.advance(100);
  assert.equal(fired, 2);
});

Deno.test("a stopped Timer does not fire, and can be started again", () => {
  using timers = new FakeTimers();
  let fired = 0;
  const timer = new Timer(100, () => fired++);
  timer.start();
  timers.advance(50);
  timer.stop();
  assert.equal(timers.pending, 0, "stop left a timer behind");
  timers.advance(1000);
  assert.equal(fired, 0);
  timer.start();
  timers.advance(100);
  assert.equal(fired, 1);
});

Deno.test("stopping a Timer that is not running is harmless", () => {
  using timers = new FakeTimers();
  let fired = 0;
  const timer = new Timer(100, () => fired++);
  timer.stop();
  timer.stop();
  timer.start();
  timers.advance(100);
  timer.stop();
  timer.stop();
  assert.equal(fired, 1);
  assert.equal(timers.pending, 0);
});

Deno.test("a Timer can be started again from its own callback", () => {
  using timers = new FakeTimers();
  let fired = 0;
  const timer: Timer = new Timer(100, () => {
    if (++fired < 3) timer.start();
  });
  timer.start();
  timers.advance(1000);
  assert.equal(fired, 3);
  assert.equal(timers.pending, 0);
});

// With the real timers: the sanitizer fails any of these that leaves a timer pending.

Deno.test("a real Timer fires after its time and leaves nothing pending", async () => {
  let fired = 0;
  const timer = new Timer(10, () => fired++);
  const started = performance.now();
  timer.start();
  await waitFor(() => fired > 0, { what: "the timer to fire" });
  assert.ok(performance.now() - started >= 9, "fired before its time");
  await quietFor(50, "a timer that repeats would fire again 10 ms after the first time");
  assert.equal(fired, 1);
});

Deno.test("a real Timer restarted many times, then stopped, leaves nothing pending", () => {
  let fired = 0;
  const timer = new Timer(60_000, () => fired++);
  for (let i = 0; i < 100; i++) timer.start();
  timer.stop();
  // Any of the hundred timers left running is seen by the sanitizer at the end of this test.
  assert.equal(fired, 0);
});
