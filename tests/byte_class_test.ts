/**
 * The SIMD line scanner: built from its source, and in agreement with a
 * plain byte-by-byte reference for every input.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { ByteClass, type LineScan, SCAN_WINDOW } from "../lib/byte_class.ts";
import { PLAIN_SCAN_WASM_BASE64 } from "../lib/plain_scan_wasm.ts";
import { compileWat, generatedModule, WAT_PATH } from "../tools/build_wasm.ts";

Deno.test("the scanner in lib/plain_scan_wasm.ts is built from lib/plain_scan.wat", async () => {
  const built = await compileWat(WAT_PATH);
  assert.equal(
    btoa(String.fromCharCode(...built)),
    PLAIN_SCAN_WASM_BASE64,
    "lib/plain_scan_wasm.ts is stale: run deno task build:wasm",
  );
  assert.ok(generatedModule(built).includes("Do not edit"));
});

/** The same scan, one byte at a time. */
function reference(accept: (byte: number) => boolean, bytes: Uint8Array): LineScan {
  let end = 0;
  let lines = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines++;
      end = i + 1;
    } else if (!accept(bytes[i])) {
      return { end, lines, stopped: true };
    }
  }
  return { end, lines, stopped: false };
}

const classes: [string, (byte: number) => boolean][] = [
  ["printable ASCII and tab", (byte) => (byte >= 0x20 && byte <= 0x7e) || byte === 0x09],
  ["ASCII but CR", (byte) => byte < 0x80 && byte !== 0x0d],
  ["two letters", (byte) => byte === 0x61 || byte === 0x62],
  ["nothing", () => false],
  ["everything", () => true],
];

Deno.test("property: the scanner agrees with a byte-by-byte scan, for every class and length", () => {
  for (const [name, accept] of classes) {
    const byteClass = ByteClass.of(accept);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(0x0a, 0x61, 0x62, 0x20, 0x09, 0x0d), fc.integer({ min: 0, max: 255 })), {
          maxLength: 300,
        }),
        (values) => {
          const bytes = new Uint8Array(values);
          assert.deepEqual(byteClass.scanLines(bytes), reference(accept, bytes), name);
        },
      ),
      { numRuns: 300 },
    );
  }
});

Deno.test("the scanner counts lines across many 64-byte steps and stops at the right byte", () => {
  const plain = ByteClass.of((byte) => byte >= 0x20 && byte <= 0x7e);
  const line = new TextEncoder().encode("a line of thirty-one characters\n");
  const block = new Uint8Array(SCAN_WINDOW);
  for (let i = 0; i + line.length <= block.length; i += line.length) block.set(line, i);
  const whole = plain.scanLines(block);
  const lines = Math.floor(SCAN_WINDOW / line.length);
  // Unfilled bytes at the end would be zeros, which stop the scan.
  assert.deepEqual(whole, { end: lines * line.length, lines, stopped: lines * line.length < SCAN_WINDOW });
  // A bad byte far in: everything before it counts.
  const bad = block.slice();
  bad[40_000] = 0x1b;
  const lineOf = Math.floor(40_000 / line.length);
  assert.deepEqual(plain.scanLines(bad), { end: lineOf * line.length, lines: lineOf, stopped: true });
  assert.throws(() => plain.scanLines(new Uint8Array(SCAN_WINDOW + 1)), RangeError);
});

Deno.test("a class the scanner cannot describe is refused", () => {
  // Each high nibble gets a different low-nibble row: sixteen shapes.
  assert.throws(() => ByteClass.of((byte) => (byte & 15) === byte >> 4), RangeError);
  assert.ok(ByteClass.of((byte) => (byte & 15) === byte >> 4 && byte < 0x80));
});
