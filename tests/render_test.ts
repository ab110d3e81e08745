import assert from "node:assert/strict";
import { escapeControls, isPlainAscii } from "../lib/render.ts";

Deno.test("render shows C0 controls and DEL in caret notation and keeps tab", () => {
  assert.equal(escapeControls("a\x1b[2Jb"), "a^[[2Jb");
  assert.equal(escapeControls("bell\x07"), "bell^G");
  assert.equal(escapeControls("nul\x00 cr\r del\x7f"), "nul^@ cr^M del^?");
  assert.equal(escapeControls("tab\tkept"), "tab\tkept");
});

Deno.test("render shows C1 controls, bidi controls and line separators as code points", () => {
  assert.equal(escapeControls("\u009b31m"), "<U+009B>31m");
  assert.equal(escapeControls("\u0085"), "<U+0085>");
  assert.equal(escapeControls("abc\u202edef"), "abc<U+202E>def");
  assert.equal(escapeControls("x\u2066y\u2069"), "x<U+2066>y<U+2069>");
  assert.equal(escapeControls("a\u2028b"), "a<U+2028>b");
});

Deno.test("render leaves ordinary text alone", () => {
  for (const text of ["hello", "héllo wörld", "日本語", "😀 emoji", "a^[b", "", "\ufffd"]) {
    assert.equal(escapeControls(text), text);
  }
});

Deno.test("render lets no control character except tab through, for every code point", () => {
  const chars: string[] = [];
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code < 0xd800 || code > 0xdfff) chars.push(String.fromCodePoint(code));
  }
  const out = escapeControls(chars.join(""));
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(out, /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
});

Deno.test("plain ASCII check accepts printable ASCII and tab only", () => {
  const encoder = new TextEncoder();
  assert.ok(isPlainAscii(encoder.encode("Hello, world!\t~")));
  assert.ok(isPlainAscii(new Uint8Array(0)));
  for (const text of ["\x1b", "\x7f", "\r", "é", "\x00"]) assert.ok(!isPlainAscii(encoder.encode(text)), text);
});
