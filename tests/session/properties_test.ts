/**
 * Properties of the wire that must hold for every input, checked with
 * fast-check: however bytes are cut into chunks, the same lines come out;
 * the reader never holds more than its buffer; and no control character but
 * tab ever leaves the renderer, or a whole session, toward a terminal.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { InputQueue } from "../../lib/session/input_queue.ts";
import { ByteClass } from "../../lib/wire/byte_class.ts";
import { LineReader, LineTooLongError } from "../../lib/wire/line_reader.ts";
import { PlainView } from "../../lib/ui/plain_view.ts";
import { escapeControls, PLAIN_TEXT } from "../../lib/ui/render.ts";
import { runSession } from "../../lib/session.ts";
import { StatusWriter } from "../../lib/ui/status_writer.ts";
import { ChunkSource, connectedPair, MemorySink } from "../support/net.ts";
import { readEvents } from "../support/read_events.ts";

/** Bytes that make framing interesting: newlines, CR, UTF-8 pieces, invalid bytes, controls. */
const wireByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0x0a, 0x0d, 0x61, 0x62, 0x09, 0x1b, 0x00) },
  { weight: 2, arbitrary: fc.constantFrom(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0x9b) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const wireBytes = fc.array(wireByte, { maxLength: 300 }).map((bytes) => new Uint8Array(bytes));

/** Cuts `bytes` at the given offsets (taken modulo its length) into chunks. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((offset) => offset % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

const LETTERS = ByteClass.of((byte) => byte === 0x61 || byte === 0x62);

Deno.test("property: any bytes cut into any chunks give the same lines as one chunk", async () => {
  await fc.assert(
    fc.asyncProperty(
      wireBytes,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 400 }),
      async (bytes, offsets, max, buffer) => {
        const whole = await readEvents([bytes], { maxLineBytes: max });
        assert.deepEqual(await readEvents(cut(bytes, offsets), { maxLineBytes: max }), whole);
        assert.deepEqual(await readEvents(cut(bytes, offsets), { maxLineBytes: max, runs: LETTERS }), whole);
        // A buffer larger than the limit: runs go on over several windows.
        const large = { maxLineBytes: max, runs: LETTERS, minBufferBytes: buffer };
        assert.deepEqual(await readEvents(cut(bytes, offsets), large), whole);
        const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
        assert.deepEqual(await readEvents(bytewise, { maxLineBytes: max }), whole);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("property: no line handed out is longer than the limit", async () => {
  await fc.assert(
    fc.asyncProperty(
      wireBytes,
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.integer({ min: 1, max: 20 }),
      async (bytes, offsets, max) => {
        const reader = new LineReader(new ChunkSource(cut(bytes, offsets)), { maxLineBytes: max, minBufferBytes: 1 });
        for (;;) {
          let line: Uint8Array | null;
          try {
            line = await reader.readLineBytes();
          } catch (error) {
            if (error instanceof LineTooLongError) continue;
            throw error;
          }
          if (line === null) break;
          assert.ok(line.length <= max, `a line of ${line.length} bytes passed a limit of ${max}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

/** Characters for text: controls (C0, DEL, C1), bidi and separators weigh as much as everything else. */
const textUnit = fc.oneof(
  fc.integer({ min: 0, max: 0x9f }).map((code) => String.fromCharCode(code)),
  fc.constantFrom("\u202e", "\u2066", "\u2028", "\u200f", "\u061c", "é", "日", "😀", "\ufffd"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
);

/** Control characters that must never reach a terminal: C0 but tab and newline, DEL, C1. */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

Deno.test("property: the renderer lets no control character but tab through", () => {
  fc.assert(
    fc.property(fc.string({ unit: textUnit, maxLength: 200 }), (text) => {
      const out = escapeControls(text);
      assert.ok(!UNSAFE.test(out) && !out.includes("\n"), JSON.stringify(out));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("property: whatever bytes the peer sends, stdout gets no control character but tab and newline", async () => {
  await fc.assert(
    fc.asyncProperty(wireBytes, async (bytes) => {
      using pair = await connectedPair("127.0.0.1");
      const input = new InputQueue(new ChunkSource([]), { maxLineBytes: 64 });
      input.start();
      const stdout = new MemorySink();
      const view = new PlainView(stdout, new StatusWriter(new MemorySink()), { interactive: false, peerName: "p" });
      const session = runSession(pair.client, input, view, {
        speaksFirst: false,
        mode: "duplex",
        maxLineBytes: 1024,
        peerName: "p",
      });
      await writeAll(pair.server, bytes);
      pair.server.close();
      await session.catch(() => {});
      await input.close();
      const out = new TextDecoder().decode(stdout.bytes);
      assert.ok(!UNSAFE.test(out), JSON.stringify(out));
      // Plain text passes through byte for byte.
      if (bytes.every((byte) => PLAIN_TEXT.has(byte) || byte === 0x0a)) {
        assert.equal(out, new TextDecoder().decode(bytes) + (bytes.length > 0 && bytes.at(-1) !== 0x0a ? "\n" : ""));
      }
    }),
    { numRuns: 150 },
  );
});
