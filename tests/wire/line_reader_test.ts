import assert from "node:assert/strict";
import { ByteClass } from "../../lib/wire/byte_class.ts";
import { ScanBuffer } from "../../lib/wire/scan_buffer.ts";
import { LineReader, LineTooLongError } from "../../lib/wire/line_reader.ts";
import { ChunkSource } from "../support/net.ts";
import { type LineEvent, readEvents } from "../support/read_events.ts";

const encoder = new TextEncoder();
const LOWERCASE = ByteClass.of((byte) => byte >= 0x61 && byte <= 0x7a);

type Event = LineEvent;

function readAll(chunks: Iterable<Uint8Array | string>, maxLineBytes = 64): Promise<Event[]> {
  return readEvents(chunks, { maxLineBytes });
}

function readAllWithRuns(chunks: Iterable<Uint8Array | string>, maxLineBytes = 64): Promise<Event[]> {
  return readEvents(chunks, { maxLineBytes, runs: LOWERCASE });
}

/** Every way of cutting `bytes` into two chunks, and into one-byte chunks. */
function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let cut = 0; cut <= bytes.length; cut++) {
    yield [bytes.subarray(0, cut), bytes.subarray(cut)];
  }
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** Every way of cutting `bytes` into three chunks. */
function* threeWaySplits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      yield [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
    }
  }
}

Deno.test("line reader splits on \\n and drops one \\r before it", async () => {
  assert.deepEqual(await readAll(["one\ntwo\r\n\nthree\r\r\nfour\rfive\n"]), [
    "one",
    "two",
    "",
    "three\r",
    "four\rfive",
  ]);
});

Deno.test("line reader yields the same lines however the input is cut", async () => {
  const input = encoder.encode("héllo wörld\r\n\n😀 emoji\r\nplain\nlast without newline é");
  const expected = await readAll([input]);
  assert.deepEqual(expected, ["héllo wörld", "", "😀 emoji", "plain", { unterminated: "last without newline é" }]);
  for (const chunks of splits(input)) assert.deepEqual(await readAll(chunks), expected);
  for (const chunks of threeWaySplits(input.subarray(0, 30))) {
    assert.deepEqual(await readAll(chunks), await readAll([input.subarray(0, 30)]));
  }
});

Deno.test("line reader decodes multi-byte characters split across chunks", async () => {
  const bytes = encoder.encode("€😀\n");
  for (let cut = 1; cut < bytes.length - 1; cut++) {
    assert.deepEqual(await readAll([bytes.subarray(0, cut), bytes.subarray(cut)]), ["€😀"]);
  }
});

Deno.test("line reader turns invalid UTF-8 into U+FFFD", async () => {
  const bytes = new Uint8Array([0x61, 0xff, 0x62, 0xc3, 0x0a, 0xe2, 0x82, 0x0a]);
  assert.deepEqual(await readAll([bytes]), ["a\ufffdb\ufffd", "\ufffd"]);
});

Deno.test("line reader tells a clean end from an end in the middle of a line", async () => {
  assert.deepEqual(await readAll(["a\nb\n"]), ["a", "b"]);
  assert.deepEqual(await readAll(["a\nb"]), ["a", { unterminated: "b" }]);
  assert.deepEqual(await readAll(["a\nb\r"]), ["a", { unterminated: "b" }]);
  assert.deepEqual(await readAll([]), []);
  assert.deepEqual(await readAll(["", ""]), []);
});

Deno.test("line reader accepts a line of exactly the limit, with or without \\r\\n", async () => {
  const max = "x".repeat(16);
  for (const input of [`${max}\n`, `${max}\r\n`, max, `${max}\r`]) {
    for (const chunks of splits(encoder.encode(input))) {
      const events = await readAll(chunks, 16);
      assert.deepEqual(events.length, 1);
      assert.ok(events[0] === max || JSON.stringify(events[0]) === JSON.stringify({ unterminated: max }));
    }
  }
});

Deno.test("line reader reports a line over the limit and carries on after it", async () => {
  const input = encoder.encode(`short\n${"y".repeat(17)}\nnext\n${"z".repeat(40)}\r\nend`);
  const expected: Event[] = ["short", { tooLong: 16 }, "next", { tooLong: 16 }, { unterminated: "end" }];
  for (const chunks of splits(input)) assert.deepEqual(await readAll(chunks, 16), expected);
});

Deno.test("line reader reports an over-long line at end of stream", async () => {
  for (const chunks of splits(encoder.encode("ok\n" + "q".repeat(17)))) {
    assert.deepEqual(await readAll(chunks, 16), ["ok", { tooLong: 16 }]);
  }
});

Deno.test("line reader never buffers more than its capacity, even without a newline", async () => {
  // An endless line: the reader must give up after about one buffer's worth.
  const chunk = new Uint8Array(1000).fill(0x61);
  const source = new ChunkSource(Array.from({ length: 10_000 }, () => chunk));
  const reader = new LineReader(source, { maxLineBytes: 4096 });
  await assert.rejects(() => reader.readLineBytes(), LineTooLongError);
  assert.ok(source.consumed <= reader.capacity, `read ${source.consumed} bytes for a ${reader.capacity}-byte buffer`);
  assert.deepEqual(reader.capacity, 16 * 1024);
});

Deno.test("line reader reads into one reused buffer", async () => {
  const source = new ChunkSource(Array.from({ length: 50 }, (_, i) => `line ${i}\n`));
  const reader = new LineReader(source, { maxLineBytes: 100 });
  let count = 0;
  while ((await reader.readLine()) !== null) count++;
  assert.deepEqual(count, 50);
  assert.deepEqual(new Set(source.buffers).size, 1);
});

Deno.test("line reader hands out buffered lines without reading", async () => {
  const source = new ChunkSource(["a\nb\nc"]);
  const reader = new LineReader(source, { maxLineBytes: 10 });
  assert.deepEqual(reader.tryReadLineBytes(), undefined);
  assert.deepEqual(await reader.readLine(), "a");
  assert.deepEqual(reader.decode(reader.tryReadLineBytes()!), "b");
  assert.deepEqual(reader.tryReadLineBytes(), undefined);
  assert.deepEqual(await reader.readLine(), "c");
  assert.deepEqual(reader.terminated, false);
  assert.deepEqual(reader.tryReadLineBytes(), null);
});

Deno.test("line reader rejects a limit that is not a positive integer", () => {
  for (const maxLineBytes of [0, -1, 1.5, NaN]) {
    assert.throws(() => new LineReader(new ChunkSource([]), { maxLineBytes }), RangeError);
  }
});

Deno.test("line reader gives the same lines in runs as one by one, however the input is cut", async () => {
  const input = encoder.encode(
    `abc\ndef\nghi\r\nUPPER\nxyz\n${"q".repeat(20)}\nok\n\n${"w".repeat(16)}\nsé\nend`,
  );
  const expected = await readAll([input], 16);
  assert.deepEqual(expected, [
    "abc",
    "def",
    "ghi",
    "UPPER",
    "xyz",
    { tooLong: 16 },
    "ok",
    "",
    "w".repeat(16),
    "sé",
    { unterminated: "end" },
  ]);
  for (const chunks of splits(input)) assert.deepEqual(await readAllWithRuns(chunks, 16), expected);
});

Deno.test("line reader takes a whole buffer of plain lines as one run", async () => {
  const reader = new LineReader(new ChunkSource(["one\ntwo\nthree\nfour"]), { maxLineBytes: 100 });
  await reader.fill();
  const run = reader.tryReadPlainLines(LOWERCASE);
  assert.equal(new TextDecoder().decode(run!.bytes), "one\ntwo\nthree\n");
  assert.equal(run!.lines, 3);
  assert.equal(reader.tryReadPlainLines(LOWERCASE), undefined);
  assert.equal(await reader.readLine(), "four");
});

Deno.test("line reader's runs go on past the limit's window, up to a line that breaks it", async () => {
  const input = `${"abc\n".repeat(10)}${"x".repeat(9)}\nab\n`;
  const reader = new LineReader(new ChunkSource([input]), { maxLineBytes: 8, minBufferBytes: 256 });
  await reader.fill();
  const run = reader.tryReadPlainLines(LOWERCASE);
  assert.equal(new TextDecoder().decode(run!.bytes), "abc\n".repeat(10));
  assert.equal(run!.lines, 10);
  assert.equal(reader.tryReadPlainLines(LOWERCASE), undefined);
  assert.throws(() => reader.tryReadLineBytes(), LineTooLongError);
  assert.equal(reader.tryReadPlainLines(LOWERCASE)!.lines, 1);
});

Deno.test("line reader's runs stop at a byte outside the class in a later window", async () => {
  const input = `${"abc\n".repeat(10)}abC\nab\n`;
  const reader = new LineReader(new ChunkSource([input]), { maxLineBytes: 8, minBufferBytes: 256 });
  await reader.fill();
  assert.equal(reader.tryReadPlainLines(LOWERCASE)!.lines, 10);
  assert.equal(reader.tryReadPlainLines(LOWERCASE), undefined);
  assert.equal(reader.decode(reader.tryReadLineBytes()!), "abC");
  assert.equal(reader.tryReadPlainLines(LOWERCASE)!.lines, 1);
});

Deno.test("line reader does not rescan a long unfinished plain line on every read", async () => {
  // A 60 KiB line in 64-byte chunks: rescanning it on each read would look at
  // about 28 million bytes; scanning once looks at each byte once.
  const letters = ByteClass.of((byte) => byte >= 0x61 && byte <= 0x7a);
  let scanned = 0;
  const scanLines = ScanBuffer.prototype.scanLines;
  ScanBuffer.prototype.scanLines = function (plain, from, to) {
    scanned += to - from;
    return scanLines.call(this, plain, from, to);
  };
  try {
    const chunk = new Uint8Array(64).fill(0x61);
    const chunks = [...Array.from({ length: 960 }, () => chunk), encoder.encode("\n")];
    const reader = new LineReader(new ChunkSource(chunks), { maxLineBytes: 64 * 1024 });
    let run;
    while ((run = reader.tryReadPlainLines(letters)) === undefined) await reader.fill();
    assert.equal(run.bytes.length, 960 * 64 + 1);
    assert.ok(scanned <= 960 * 64 + 1, `${scanned} bytes scanned for a line of ${960 * 64 + 1} bytes`);
  } finally {
    ScanBuffer.prototype.scanLines = scanLines;
  }
});
