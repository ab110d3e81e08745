/**
 * Deadlines: they fire while an operation is pending, end at once when
 * cancelled, and never keep a process running on their own.
 */

import assert from "node:assert/strict";
import { deadline } from "../../lib/io/time.ts";

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
