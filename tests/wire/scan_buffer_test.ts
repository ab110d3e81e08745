/**
 * The SIMD line scanner: built from its source, and in agreement with a
 * plain byte-by-byte reference for every class, input and place in its
 * buffer.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { ByteClass } from "../../lib/wire/byte_class.ts";
import { ReferenceScanBuffer, ScanBuffer } from "../../lib/wire/scan_buffer.ts";
import { PLAIN_SCAN_WASM_BASE64 } from "../../lib/wire/plain_scan_wasm.ts";
import { compileWat, generatedModule, WAT_PATH } from "../../tools/build_wasm.ts";

Deno.test("the scanner in lib/wire/plain_scan_wasm.ts is built from lib/wire/plain_scan.wat", async () => {
  const built = await compileWat(WAT_PATH);
  assert.equal(
    btoa(String.fromCharCode(...built)),
    PLAIN_SCAN_WASM_BASE64,
    "lib/wire/plain_scan_wasm.ts is stale: run deno task build:wasm",
  );
  assert.ok(generatedModule(built).includes("Do not edit"));
});

Deno.test("the reference scan finds the run of complete plain lines and says where it stopped", () => {
  const plain = ByteClass.of((byte) => byte >= 0x61 && byte <= 0x7a);
  const scan = (text: string, from = 0) => {
    const buffer = new ReferenceScanBuffer(32);
    const bytes = new TextEncoder().encode(text);
    buffer.bytes.set(bytes, from);
    return buffer.scanLines(plain, from, from + bytes.length);
  };
  assert.deepEqual(scan(""), { end: 0, lines: 0, stopped: false });
  assert.deepEqual(scan("ab\ncd\n"), { end: 6, lines: 2, stopped: false });
  assert.deepEqual(scan("ab\ncd"), { end: 3, lines: 1, stopped: false });
  assert.deepEqual(scan("ab\nc!d\n"), { end: 3, lines: 1, stopped: true });
  assert.deepEqual(scan("!\n"), { end: 0, lines: 0, stopped: true });
  assert.deepEqual(scan("\n\n", 5), { end: 2, lines: 2, stopped: false });
  assert.throws(() => new ReferenceScanBuffer(4).scanLines(plain, 2, 5), RangeError);
});

const classes: [string, (byte: number) => boolean][] = [
  ["printable ASCII and tab", (byte) => (byte >= 0x20 && byte <= 0x7e) || byte === 0x09],
  ["ASCII but CR", (byte) => byte < 0x80 && byte !== 0x0d],
  ["two letters", (byte) => byte === 0x61 || byte === 0x62],
  ["nothing", () => false],
  ["everything", () => true],
];

Deno.test("property: the SIMD scanner agrees with the reference, for every class, length and offset", () => {
  // One buffer for every class: the scan loads each class's tables as needed.
  const buffer = new ScanBuffer(400);
  const reference = new ReferenceScanBuffer(400);
  const byteClasses = classes.map(([name, accept]) => [name, ByteClass.of(accept)] as const);
  // The reference reads the class's table: that table must hold what the class was made of.
  for (const [name, accept] of classes) {
    const byteClass = ByteClass.of(accept);
    for (let byte = 0; byte < 256; byte++) assert.equal(byteClass.has(byte), byte !== 0x0a && accept(byte), name);
  }
  fc.assert(
    fc.property(
      fc.constantFrom(...byteClasses),
      fc.nat(90),
      fc.array(fc.oneof(fc.constantFrom(0x0a, 0x61, 0x62, 0x20, 0x09, 0x0d), fc.integer({ min: 0, max: 255 })), {
        maxLength: 300,
      }),
      ([name, byteClass], from, values) => {
        const bytes = new Uint8Array(values);
        // Whatever lies around the range must not count.
        for (const scanner of [buffer, reference]) {
          scanner.bytes.fill(0x0a);
          scanner.bytes.set(bytes, from);
        }
        const to = from + bytes.length;
        assert.deepEqual(buffer.scanLines(byteClass, from, to), reference.scanLines(byteClass, from, to), name);
      },
    ),
    { numRuns: 1500 },
  );
});

Deno.test("the scanner counts lines across many 64-byte steps and stops at the right byte", () => {
  const plain = ByteClass.of((byte) => byte >= 0x20 && byte <= 0x7e);
  const line = new TextEncoder().encode("a line of thirty-one characters\n");
  const size = 256 * 1024;
  const buffer = new ScanBuffer(size);
  for (let i = 0; i + line.length <= size; i += line.length) buffer.bytes.set(line, i);
  const lines = Math.floor(size / line.length);
  // More than 63 steps of 64 bytes, where the counters are added up, and
  // more than one page of memory.
  assert.deepEqual(buffer.scanLines(plain, 0, size), { end: lines * line.length, lines, stopped: false });
  // A bad byte far in: everything before it counts.
  buffer.bytes[200_000] = 0x1b;
  const lineOf = Math.floor(200_000 / line.length);
  assert.deepEqual(buffer.scanLines(plain, 0, size), { end: lineOf * line.length, lines: lineOf, stopped: true });
  // From an offset: lines are counted and ends given from there.
  const from = 10 * line.length;
  assert.deepEqual(buffer.scanLines(plain, from, 200_000), {
    end: lineOf * line.length - from,
    lines: lineOf - 10,
    stopped: false,
  });
  assert.throws(() => buffer.scanLines(plain, 0, size + 1), RangeError);
  assert.throws(() => buffer.scanLines(plain, 5, 4), RangeError);
});

Deno.test("a buffer's bytes stay usable: reading into them and scanning in place", async () => {
  const buffer = new ScanBuffer(64);
  const letters = ByteClass.of((byte) => byte >= 0x61 && byte <= 0x7a);
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "abc\ndef\nGH\n");
    using handle = await Deno.open(file);
    const n = await handle.read(buffer.bytes);
    assert.equal(n, 11);
    assert.deepEqual(buffer.scanLines(letters, 0, n!), { end: 8, lines: 2, stopped: true });
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a class the scanner cannot describe is refused", () => {
  // Each high nibble gets a different low-nibble row: sixteen shapes.
  assert.throws(() => ByteClass.of((byte) => (byte & 15) === byte >> 4), RangeError);
  assert.ok(ByteClass.of((byte) => (byte & 15) === byte >> 4 && byte < 0x80));
  assert.ok(ByteClass.of((byte) => byte === 0x41).has(0x41));
  assert.equal(ByteClass.of(() => true).has(0x0a), false);
});
