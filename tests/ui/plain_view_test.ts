import assert from "node:assert/strict";
import fc from "fast-check";
import { PlainView } from "../../lib/ui/plain_view.ts";
import { escapeControls } from "../../lib/ui/render.ts";
import { StatusWriter } from "../../lib/ui/status_writer.ts";
import { MemorySink } from "../support/net.ts";

function view(sink: MemorySink): PlainView {
  return new PlainView(sink, new StatusWriter(new MemorySink()), { interactive: false, peerName: "peer" });
}

/** What a line must become on stdout: decoded (U+FFFD for bad bytes), escaped, and ended. */
function expected(bytes: Uint8Array): string {
  return escapeControls(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)) + "\n";
}

/** Bytes that make escaping interesting: C1 and bidi controls (several bytes each), C0, stray bytes. */
const tricky: fc.Arbitrary<readonly number[]> = fc.constantFrom<readonly number[]>(
  [0xc2, 0x9b], // U+009B, a C1 control
  [0xe2, 0x80, 0xae], // U+202E, right-to-left override
  [0xd8, 0x9c], // U+061C, Arabic letter mark
  [0x1b],
  [0x7f],
  [0xff], // never valid UTF-8
  [0xe2, 0x80], // a sequence cut short
  [0x61],
  [0xf0, 0x9f, 0x91, 0x8d], // 👍, four bytes
);

Deno.test("property: a long line is escaped in pieces exactly as it would be whole", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(tricky, { minLength: 1, maxLength: 200 }),
      // Long runs so that lines cross the 16 KiB pieces, at every alignment.
      fc.integer({ min: 0, max: 40_000 }),
      async (parts: (readonly number[])[], padding: number) => {
        // A run of C1 controls first, so that the tricky bytes fall across a piece's end at every offset.
        // (after 0 to 2 other bytes, so that the pieces cut the controls at every offset).
        const lead = new Array(padding % 3).fill(0xc2);
        const run = Array.from({ length: padding }, (_, i) => i % 2 === 0 ? 0xc2 : 0x9b);
        const bytes = new Uint8Array([...lead, ...run, ...parts.flat()]);
        const sink = new MemorySink();
        const plain = view(sink);
        await plain.peerLine(bytes);
        await plain.flush();
        assert.equal(sink.text, expected(bytes));
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("a megabyte of C1 controls goes out in pieces: no write is bigger than one escaped piece", async () => {
  const line = new Uint8Array(1024 * 1024);
  for (let i = 0; i < line.length; i += 2) line.set([0xc2, 0x85], i);
  const sizes: number[] = [];
  const sink = new MemorySink();
  const counting = {
    write(p: Uint8Array): Promise<number> {
      sizes.push(p.length);
      return sink.write(p);
    },
  };
  const plain = new PlainView(counting, new StatusWriter(new MemorySink()), { interactive: false, peerName: "p" });
  await plain.peerLine(line);
  await plain.flush();
  assert.equal(sink.bytes.length, 4 * 1024 * 1024 + 1);
  assert.ok(sink.text.startsWith("<U+0085><U+0085>"));
  // 16 KiB of input at a time, escaped to at most four times that.
  assert.ok(Math.max(...sizes) <= 4 * (16 * 1024 + 4), `a write of ${Math.max(...sizes)} bytes`);
});
