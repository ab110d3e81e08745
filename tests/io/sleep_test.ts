import assert from "node:assert/strict";
import { pause, sleep } from "../../lib/io/time.ts";

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
