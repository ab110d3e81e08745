import assert from "node:assert/strict";
import { BufferedWriter, writeAll } from "../../lib/io/buffered_writer.ts";
import { MemorySink } from "../support/net.ts";

const encoder = new TextEncoder();

Deno.test("writeAll keeps writing until every byte is out", async () => {
  const sink = new MemorySink(3);
  await writeAll(sink, encoder.encode("a write that the sink takes three bytes at a time"));
  assert.equal(sink.text, "a write that the sink takes three bytes at a time");
  assert.equal(sink.writes, 17);
});

Deno.test("buffered writer coalesces small writes into few calls", async () => {
  const sink = new MemorySink();
  const writer = new BufferedWriter(sink, 1024);
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`);
  for (const line of lines) await writer.write(encoder.encode(line));
  await writer.flush();
  assert.equal(sink.text, lines.join(""));
  assert.ok(sink.writes <= 10, `${sink.writes} writes`);
  assert.equal(writer.buffered, 0);
});

Deno.test("buffered writer passes writes larger than its buffer, in order", async () => {
  const sink = new MemorySink(100);
  const writer = new BufferedWriter(sink, 16);
  await writer.write(encoder.encode("small "));
  await writer.write(encoder.encode("x".repeat(500)));
  await writer.write(encoder.encode(" tail"));
  assert.equal(sink.text, "small " + "x".repeat(500));
  await writer.flush();
  assert.equal(sink.text, "small " + "x".repeat(500) + " tail");
});

Deno.test("buffered writer flushes whole buffers through a sink that takes one byte at a time", async () => {
  const sink = new MemorySink(1);
  const writer = new BufferedWriter(sink, 8);
  for (const word of ["one ", "two ", "three ", "four"]) await writer.write(encoder.encode(word));
  await writer.flush();
  assert.equal(sink.text, "one two three four");
});
