/**
 * The input queue: lines ready for the wire, taken without copies while
 * the reader's buffer allows, and never changed under a taker's feet.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { InputQueue } from "../../lib/session/input_queue.ts";
import { ChunkSource, PushSource } from "../support/net.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Resolves once the queue's reading has had every chance to go on. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The lines a queue should hand out for `bytes`, each ready for the wire. */
function reference(bytes: Uint8Array, maxLineBytes: number): string[] {
  const lines: string[] = [];
  const add = (content: Uint8Array) => {
    if (content.at(-1) === 0x0d) content = content.subarray(0, -1);
    const text = encoder.encode(decoder.decode(content));
    if (content.length <= maxLineBytes && text.length <= maxLineBytes) lines.push(decoder.decode(text) + "\n");
  };
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      add(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) add(bytes.subarray(start));
  return lines;
}

Deno.test("a run taken stays intact while it is being sent; reading waits for it", async () => {
  const block = "x".repeat(99) + "\n";
  // Far more than the reader's buffer: it must be reused many times.
  const chunks = Array.from({ length: 150 }, (_, i) => `${String(i).padStart(4, "0")}${block}`);
  const source = new ChunkSource(chunks);
  const input = new InputQueue(source, { maxLineBytes: 200 });
  // Like a session: take a run the moment it is queued, and hold it while
  // it is "being written".
  let held: { bytes: Uint8Array; copy: Uint8Array } | undefined;
  let holds = 0;
  input.subscribe(() => {
    if (held) return;
    const run = input.shiftRun();
    if (run) held = { bytes: run.bytes, copy: run.bytes.slice() };
  });
  input.start();
  let received = "";
  for (let i = 0; i < 10_000 && !(input.ended && input.queued === 0 && !held); i++) {
    if (!held) {
      await settle();
      continue;
    }
    const consumed = source.consumed;
    await settle();
    holds++;
    // Still in use: the reader has neither reused its memory nor read on.
    assert.deepEqual(held.bytes, held.copy);
    assert.equal(source.consumed, consumed);
    received += decoder.decode(held.copy);
    held = undefined;
    input.release();
    const rest = input.shiftRun();
    if (rest) received += decoder.decode(rest.bytes);
    input.release();
  }
  assert.equal(received, chunks.join(""));
  assert.ok(holds > 1, `the reader stopped for a taken run ${holds} times`);
  await input.close();
});

Deno.test("runs left in the queue survive the reader's buffer being reused", async () => {
  const chunks = Array.from({ length: 300 }, (_, i) => `line ${i} ${"y".repeat(i % 50)}\n`);
  const input = new InputQueue(new ChunkSource(chunks), { maxLineBytes: 100 });
  input.start();
  // Nothing is taken until the whole input is read: every run was queued
  // while the buffer moved on.
  while (!input.ended) await settle();
  let received = "";
  for (let run = input.shiftRun(); run; run = input.shiftRun()) received += decoder.decode(run.bytes);
  assert.equal(received, chunks.join(""));
  await input.close();
});

Deno.test("taking one line at a time and releasing it keeps reading going", async () => {
  const source = new PushSource();
  const input = new InputQueue(source, { maxLineBytes: 100 });
  input.start();
  source.push("one\ntwo\nthree\n");
  await settle();
  assert.equal(decoder.decode(input.shift()), "one\n");
  input.release();
  // The rest of that run waits in the queue while more comes in and the input ends.
  source.push("four\n");
  source.end();
  while (!input.ended) await settle();
  assert.equal(input.queued, 3);
  assert.deepEqual([input.shift(), input.shift(), input.shift()].map((line) => decoder.decode(line)), [
    "two\n",
    "three\n",
    "four\n",
  ]);
  await input.close();
});

Deno.test("closing the queue while a taken run is never released does not hang", async () => {
  const chunks = Array.from({ length: 100 }, () => "z".repeat(63) + "\n");
  const input = new InputQueue(new ChunkSource(chunks), { maxLineBytes: 100 });
  input.start();
  await settle();
  assert.ok(input.shiftRun());
  await input.close();
});

Deno.test("property: whatever the input and however it is taken, each line arrives once, in order, unchanged", async () => {
  const bytes = fc.array(fc.constantFrom(0x61, 0x61, 0x61, 0x0a, 0x0a, 0x0d, 0xc3, 0xa9, 0xff), { maxLength: 400 });
  await fc.assert(
    fc.asyncProperty(
      bytes,
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.constantFrom("line", "run", "leave"), { minLength: 1, maxLength: 30 }),
      async (values, cuts, moves) => {
        const input = new Uint8Array(values);
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < input.length; i++) {
          const size = cuts[i % cuts.length];
          chunks.push(input.subarray(at, at + size));
          at += size;
        }
        const queue = new InputQueue(new ChunkSource(chunks), { maxLineBytes: 20 });
        // As lines come in, take a line, a run or nothing, and hold it over
        // a turn of the event loop, as a session holds what it writes.
        let held: { bytes: Uint8Array; copy: Uint8Array } | undefined;
        let move = 0;
        queue.subscribe(() => {
          if (held) return;
          const kind = moves[move++ % moves.length];
          const taken = kind === "line" ? queue.shift() : kind === "run" ? queue.shiftRun()?.bytes : undefined;
          if (taken) held = { bytes: taken, copy: taken.slice() };
        });
        queue.start();
        let received = "";
        for (let i = 0; i < 10_000 && !(queue.ended && queue.queued === 0 && !held); i++) {
          await settle();
          if (held) {
            assert.deepEqual(held.bytes, held.copy);
            received += decoder.decode(held.copy);
            held = undefined;
          } else {
            const line = queue.shift();
            if (line) received += decoder.decode(line);
          }
          queue.release();
        }
        await queue.close();
        assert.equal(received, reference(input, 20).join(""));
      },
    ),
    { numRuns: 150 },
  );
});

/** Lines typed at a terminal, handed out whole, as the terminal window does. */
class TypedLines {
  #lines: string[];
  #ended = false;
  taken = 0;

  constructor(lines: string[]) {
    this.#lines = [...lines];
  }

  nextLine(): Promise<string | null> {
    if (this.#ended) return Promise.resolve(null);
    const line = this.#lines.shift();
    if (line === undefined) return Promise.resolve(null);
    this.taken++;
    return Promise.resolve(line);
  }

  cancel(): Promise<void> {
    this.#ended = true;
    return Promise.resolve();
  }
}

/** Takes every line the queue has, as text. */
function drain(input: InputQueue): string[] {
  const lines: string[] = [];
  for (let line = input.shift(); line !== undefined; line = input.shift()) lines.push(decoder.decode(line));
  return lines;
}

Deno.test("typed lines go straight in: each made ready for the wire, over-long ones refused", async () => {
  const lone = "\ud800"; // a lone surrogate: no valid UTF-8, becomes U+FFFD
  const source = new TypedLines(["hello", "", "héllo wörld", lone, "x".repeat(21), "x".repeat(20), "tab\there"]);
  const input = new InputQueue(source, { maxLineBytes: 20 });
  const refused: number[] = [];
  input.subscribe((event) => event.kind === "refused" && refused.push(event.limit));
  input.start();
  for (let i = 0; i < 100 && !input.ended; i++) await settle();
  assert.ok(input.ended);
  assert.deepEqual(drain(input), ["hello\n", "\n", "héllo wörld\n", "\ufffd\n", `${"x".repeat(20)}\n`, "tab\there\n"]);
  assert.deepEqual(refused, [20]);
  assert.equal(input.refused, 1);
  await input.close();
});

Deno.test("typed lines wait while the queue is full, and reading goes on once there is room", async () => {
  const source = new TypedLines(Array.from({ length: 10 }, (_, i) => `line ${i}`));
  const input = new InputQueue(source, { maxLineBytes: 100, maxQueuedBytes: 14 });
  input.start();
  for (let i = 0; i < 20; i++) await settle();
  // "line 0\n" and "line 1\n" fill 14 bytes: no more is taken from the source.
  assert.equal(input.queued, 2);
  assert.equal(source.taken, 2);
  const lines = drain(input);
  for (let i = 0; i < 100 && !input.ended; i++) {
    await settle();
    lines.push(...drain(input));
  }
  assert.deepEqual(lines, Array.from({ length: 10 }, (_, i) => `line ${i}\n`));
  await input.close();
});

Deno.test("closing a queue of typed lines ends the input", async () => {
  const source = new TypedLines([]);
  const input = new InputQueue(source, { maxLineBytes: 100 });
  input.start();
  await input.close();
  assert.ok(input.ended);
  assert.equal(input.shift(), undefined);
});
