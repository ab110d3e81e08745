/**
 * A log that stays readable under a flood: a few lines per source in each
 * window, then one line counting the rest, from the next line of that source,
 * from the timer, on disposal, or when the source is forgotten.
 */

import assert from "node:assert/strict";
import { LogLimiter } from "../../lib/cli/log_limiter.ts";
import { quietFor, waitFor } from "../support/wait.ts";

/** A clock the test moves by hand, and which counts how often it is read. */
class Clock {
  time = 1_000_000;
  reads = 0;
  readonly now = (): number => {
    this.reads++;
    return this.time;
  };
}

Deno.test("log limiter shows at most perWindow lines per source in a window", () => {
  const clock = new Clock();
  const lines: string[] = [];
  using limiter = new LogLimiter((line) => lines.push(line), { perWindow: 2, windowMs: 60_000, now: clock.now });
  for (let i = 1; i <= 5; i++) limiter.log("a", `a${i}`);
  limiter.log("b", "b1");
  clock.time += 59_999;
  limiter.log("a", "a6");
  limiter.log("b", "b2");
  limiter.log("b", "b3");
  assert.deepEqual(lines, ["a1", "a2", "b1", "b2"]);
});

Deno.test("log limiter counts what it left out before the next line of a new window", () => {
  const clock = new Clock();
  const lines: string[] = [];
  using limiter = new LogLimiter((line) => lines.push(line), { perWindow: 2, windowMs: 60_000, now: clock.now });
  for (let i = 1; i <= 5; i++) limiter.log("a", `a${i}`);
  limiter.log("b", "b1");
  limiter.log("b", "b2");
  limiter.log("b", "b3");
  clock.time += 60_000;
  limiter.log("a", "a6");
  assert.deepEqual(lines, ["a1", "a2", "b1", "b2", "(3 more lines about a not shown)", "a6"]);
  limiter.log("b", "b4");
  assert.deepEqual(lines.slice(6), ["(1 more line about b not shown)", "b4"]);
  // A new window starts afresh: perWindow lines again, with nothing to count before them.
  limiter.log("a", "a7");
  limiter.log("a", "a8");
  assert.deepEqual(lines.slice(8), ["a7"]);
  clock.time += 60_000;
  limiter.log("a", "a9");
  assert.deepEqual(lines.slice(9), ["(1 more line about a not shown)", "a9"]);
});

Deno.test("log limiter: a source that had no line left out gets no count line", () => {
  const clock = new Clock();
  const lines: string[] = [];
  using limiter = new LogLimiter((line) => lines.push(line), { perWindow: 2, windowMs: 1000, now: clock.now });
  limiter.log("a", "a1");
  limiter.log("a", "a2");
  clock.time += 1000;
  limiter.log("a", "a3");
  assert.deepEqual(lines, ["a1", "a2", "a3"]);
});

Deno.test("log limiter's timer counts a quiet source's lines once its window is over", async () => {
  const clock = new Clock();
  const lines: string[] = [];
  using limiter = new LogLimiter((line) => lines.push(line), { perWindow: 1, windowMs: 30, now: clock.now });
  limiter.log("a", "a1");
  limiter.log("a", "a2");
  limiter.log("a", "a3");
  // The timer fires after 30 ms of real time (it reads the clock then), but by this clock the window is not over yet.
  const reads = clock.reads;
  await waitFor(() => clock.reads > reads, { what: "the limiter's timer to fire and read the clock" });
  assert.deepEqual(lines, ["a1"]);
  clock.time += 30;
  await waitFor(() => lines.length > 1, { what: "the count line" });
  assert.deepEqual(lines, ["a1", "(2 more lines about a not shown)"]);
  // The source was forgotten with its window: its next line starts a new one, with nothing to count.
  limiter.log("a", "a4");
  assert.deepEqual(lines.slice(2), ["a4"]);
});

Deno.test("log limiter's timer works in real time, and stops once nothing is left to count", async () => {
  const lines: string[] = [];
  let clockReads = 0;
  const now = (): number => {
    clockReads++;
    return Date.now();
  };
  using limiter = new LogLimiter((line) => lines.push(line), { perWindow: 1, windowMs: 40, now });
  limiter.log("x", "x1");
  limiter.log("x", "x2");
  limiter.log("y", "y1");
  await waitFor(() => lines.length > 2, { what: "the count line" });
  assert.deepEqual(lines, ["x1", "y1", "(1 more line about x not shown)"]);
  // Nothing more to say: no repeated count, and no timer that goes on reading the clock.
  const reads = clockReads;
  await quietFor(200, "a timer left running would fire (and read the clock) every 40 ms");
  assert.equal(lines.length, 3);
  assert.equal(clockReads, reads);
});

Deno.test("log limiter's disposal counts what is pending, and stops the timer", async () => {
  const clock = new Clock();
  const lines: string[] = [];
  const limiter = new LogLimiter((line) => lines.push(line), { perWindow: 1, windowMs: 30, now: clock.now });
  limiter.log("a", "a1");
  limiter.log("a", "a2");
  limiter.log("a", "a3");
  limiter.log("b", "b1");
  limiter.log("b", "b2");
  limiter.log("c", "c1");
  limiter[Symbol.dispose]();
  assert.deepEqual(lines, [
    "a1",
    "b1",
    "c1",
    "(2 more lines about a not shown)",
    "(1 more line about b not shown)",
  ]);
  // No timer is left to say anything more (the sanitizer would also see one pending).
  clock.time += 1000;
  await quietFor(100, "a timer left running would fire within 30 ms and count again");
  assert.equal(lines.length, 5);
  limiter[Symbol.dispose]();
  assert.equal(lines.length, 5);
});

Deno.test("log limiter forgets the longest-quiet source past maxSources, and counts its lines then", () => {
  const clock = new Clock();
  const lines: string[] = [];
  using limiter = new LogLimiter((line) => lines.push(line), {
    perWindow: 1,
    windowMs: 60_000,
    maxSources: 2,
    now: clock.now,
  });
  limiter.log("a", "a1");
  limiter.log("a", "a2");
  limiter.log("b", "b1");
  // "a" speaks again: "b" is now the longest quiet.
  limiter.log("a", "a3");
  limiter.log("c", "c1");
  // "b" is forgotten, with nothing to count.
  assert.deepEqual(lines, ["a1", "b1", "c1"]);
  limiter.log("d", "d1");
  assert.deepEqual(lines.slice(3), ["d1", "(2 more lines about a not shown)"]);
  // A forgotten source starts again from nothing, in the same window.
  limiter.log("a", "a4");
  assert.deepEqual(lines.slice(5), ["a4"]);
  limiter.log("b", "b2");
  assert.deepEqual(lines.slice(6), ["b2"]);
});
