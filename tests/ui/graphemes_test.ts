/**
 * Editing by grapheme cluster (lib/ui/graphemes.ts): moving and deleting
 * step over a combining accent, a flag, a skin tone and a ZWJ sequence whole.
 */

import assert from "node:assert/strict";
import { deleteAfter, deleteBefore, nextBoundary, previousBoundary } from "../../lib/ui/graphemes.ts";

const ACCENT = "cafe\u0301xy";
const FLAG = "a\u{1F1EB}\u{1F1F7}b"; // a🇫🇷b
const THUMB = "a\u{1F44D}\u{1F3FD}b"; // a👍🏽b
const FAMILY = "a\u{1F468}\u200D\u{1F469}\u200D\u{1F467}b"; // a👨‍👩‍👧b

/** Where the cursor lands after `count` steps left from the end of `line`. */
function leftFromEnd(line: string, count: number): number {
  let cursor = line.length;
  for (let i = 0; i < count; i++) cursor = previousBoundary(line, cursor);
  return cursor;
}

Deno.test("cafe + U+0301 + xy: left twice lands after the accent, three times before the e; Z keeps the accent", () => {
  const twice = leftFromEnd(ACCENT, 2);
  assert.equal(twice, "cafe\u0301".length);
  assert.equal(ACCENT.slice(0, twice) + "Z" + ACCENT.slice(twice), "cafe\u0301Zxy");
  const thrice = leftFromEnd(ACCENT, 3);
  assert.equal(thrice, "caf".length);
  assert.equal(ACCENT.slice(0, thrice) + "Z" + ACCENT.slice(thrice), "cafZe\u0301xy");
});

Deno.test("a flag, a skin tone and a ZWJ sequence are each one step, left and right", () => {
  for (const line of [FLAG, THUMB, FAMILY]) {
    const before = line.length - 1; // before the final b
    assert.equal(previousBoundary(line, before), 1, line);
    assert.equal(nextBoundary(line, 1), before, line);
    assert.equal(leftFromEnd(line, 2), 1, line);
    const cursor = leftFromEnd(line, 2);
    assert.equal(line.slice(0, cursor) + "Z" + line.slice(cursor), "aZ" + line.slice(1), line);
  }
});

Deno.test("boundaries at the ends stay there", () => {
  assert.equal(previousBoundary("", 0), 0);
  assert.equal(nextBoundary("", 0), 0);
  assert.equal(previousBoundary(ACCENT, 0), 0);
  assert.equal(nextBoundary(ACCENT, ACCENT.length), ACCENT.length);
  assert.equal(nextBoundary(ACCENT, 3), "cafe\u0301".length);
});

Deno.test("backspace deletes the whole cluster before the cursor", () => {
  assert.deepEqual(deleteBefore({ line: ACCENT, cursor: 5 }), { line: "cafxy", cursor: 3 });
  for (const line of [FLAG, THUMB, FAMILY]) {
    assert.deepEqual(deleteBefore({ line, cursor: line.length - 1 }), { line: "ab", cursor: 1 }, line);
  }
  assert.deepEqual(deleteBefore({ line: "ab", cursor: 0 }), { line: "ab", cursor: 0 });
});

Deno.test("delete deletes the whole cluster after the cursor", () => {
  assert.deepEqual(deleteAfter({ line: ACCENT, cursor: 3 }), { line: "cafxy", cursor: 3 });
  for (const line of [FLAG, THUMB, FAMILY]) {
    assert.deepEqual(deleteAfter({ line, cursor: 1 }), { line: "ab", cursor: 1 }, line);
  }
  assert.deepEqual(deleteAfter({ line: "ab", cursor: 2 }), { line: "ab", cursor: 2 });
});
