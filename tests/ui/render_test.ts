import fc from "fast-check";
import type { Writer } from "../../lib/io/types.ts";
import assert from "node:assert/strict";
import { escapeControls, escapeLines, isPlainAscii, joinSafe, safe, type SafeText } from "../../lib/ui/render.ts";
import { StatusWriter } from "../../lib/ui/status_writer.ts";
import { RAW_CONTROL } from "../support/clean.ts";
import { MemorySink } from "../support/net.ts";

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

/** Every code point but the surrogates, as one string. */
function everyCodePoint(): string {
  const chars: string[] = [];
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code < 0xd800 || code > 0xdfff) chars.push(String.fromCodePoint(code));
  }
  return chars.join("");
}

/** Characters that make escaping interesting: every kind of control, tab, newline, and some that are not. */
const trickyChar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "\n",
    "\t",
    "\r",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\u061c",
    "\u200e",
    "\u200f",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u00a0",
    "é",
    "😀",
  ),
  fc.integer({ min: 0, max: 0x10ffff })
    .filter((code) => code < 0xd800 || code > 0xdfff)
    .map((code) => String.fromCodePoint(code)),
  fc.constantFrom("a", "b", " ", "^", "<", "U", "+"),
);
const trickyText: fc.Arbitrary<string> = fc.array(trickyChar, { maxLength: 40 }).map((chars) => chars.join(""));

Deno.test("escapeLines keeps line feeds and escapes every other character as escapeControls does", () => {
  assert.equal(escapeLines("one\ntwo\n"), "one\ntwo\n");
  assert.equal(escapeLines("a\x1b[2J\r\nb\u202e\tc"), "a^[[2J^M\nb<U+202E>\tc");
  const all = everyCodePoint();
  assert.equal(escapeLines(all), all.split("\n").map(escapeControls).join("\n"));
  fc.assert(
    fc.property(trickyText, (text: string) => {
      assert.equal(escapeLines(text), text.split("\n").map(escapeControls).join("\n"));
      assert.doesNotMatch(escapeLines(text), RAW_CONTROL);
    }),
    { numRuns: 500 },
  );
});

Deno.test("safe joins its literal parts and safe values as they are", () => {
  const address = escapeControls("evil\x1b]0;title\x07");
  assert.equal(safe`Connected to ${address}.`, "Connected to evil^[]0;title^G.");
  assert.equal(safe`plain words\n`, "plain words\n");
  assert.equal(safe``, "");
  assert.equal(safe`${address}`, address);
  const a = "A" as SafeText;
  const b = "<U+202E>" as SafeText;
  assert.equal(safe`[${a}|${b}]${a}`, "[A|<U+202E>]A");
  // Values are taken as safe: nothing is escaped again, not even the line feeds escapeLines kept.
  const lines = escapeLines("one\x07\ntwo");
  assert.equal(safe`${lines}\n${a}`, "one^G\ntwo\nA");
});

Deno.test("joinSafe joins safe pieces with a safe separator", () => {
  const pieces = ["a", "b^[", "<U+0085>"].map(escapeControls);
  assert.equal(joinSafe(pieces, escapeControls(", ")), "a, b^[, <U+0085>");
  assert.equal(joinSafe([], escapeControls(", ")), "");
  assert.equal(joinSafe([escapeControls("only")], escapeControls(", ")), "only");
  assert.equal(joinSafe(pieces, escapeControls("")), "ab^[<U+0085>");
});

type StatusStep =
  | { kind: "write"; text: string }
  | { kind: "line"; text: string }
  | { kind: "endLine" }
  | { kind: "lineEnded" };

const statusStep: fc.Arbitrary<StatusStep> = fc.oneof(
  fc.record({ kind: fc.constant("write" as const), text: trickyText }),
  fc.record({ kind: fc.constant("line" as const), text: trickyText }),
  fc.record({ kind: fc.constant("endLine" as const) }),
  fc.record({ kind: fc.constant("lineEnded" as const) }),
);

Deno.test("property: a status writer lets no control character but newline and tab reach its sink", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(statusStep, { maxLength: 30 }),
      fc.integer({ min: 1, max: 64 }),
      async (steps: StatusStep[], maxPerWrite: number) => {
        const sink = new MemorySink(maxPerWrite);
        const writer = new StatusWriter(sink);
        // What should come out: each piece escaped, in order, a line break added where a line is cut short.
        let expected = "";
        let midLine = false;
        const put = (text: string): void => {
          if (text === "") return;
          expected += escapeLines(text);
          midLine = !text.endsWith("\n");
        };
        for (const step of steps) {
          switch (step.kind) {
            case "write":
              writer.write(step.text);
              put(step.text);
              break;
            case "line":
              writer.line(step.text);
              // A line is one line: a line feed in its text is shown too.
              put(`${midLine ? "\n" : ""}${escapeControls(step.text)}\n`);
              break;
            case "endLine":
              writer.endLine();
              if (midLine) put("\n");
              break;
            case "lineEnded":
              writer.lineEnded();
              midLine = false;
              break;
          }
        }
        await writer.flushed();
        const out = new TextDecoder("utf-8", { fatal: true }).decode(sink.bytes);
        assert.doesNotMatch(out, RAW_CONTROL);
        assert.equal(out, expected);
      },
    ),
    { numRuns: 300 },
  );
});

/** A sink that takes nothing until it is opened: every write waits until then. */
class StalledSink implements Writer {
  #parts: Uint8Array[] = [];
  #waiting: (() => void)[] = [];
  #open = false;
  /** Bytes given to `write`, taken or not. */
  received = 0;
  /** How many times `write` was called. */
  writes = 0;

  write(p: Uint8Array): Promise<number> {
    this.writes++;
    this.received += p.length;
    this.#parts.push(p.slice());
    if (this.#open) return Promise.resolve(p.length);
    const { promise, resolve } = Promise.withResolvers<number>();
    this.#waiting.push(() => resolve(p.length));
    return promise;
  }

  /** Completes every pending write, and takes every later one at once. */
  open(): void {
    this.#open = true;
    for (const complete of this.#waiting.splice(0)) complete();
  }

  get text(): string {
    const decoder = new TextDecoder();
    return this.#parts.map((part) => decoder.decode(part, { stream: true })).join("") + decoder.decode();
  }
}

function macrotask(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

Deno.test("status writer lets one write of any size through when nothing waits", async () => {
  const sink = new MemorySink();
  const writer = new StatusWriter(sink);
  const long = "x".repeat(1024 * 1024);
  writer.line(long);
  await writer.flushed();
  assert.equal(sink.text, `${long}\n`);
});

Deno.test("status writer shows a line feed inside a line, so that a line stays one line", async () => {
  const sink = new MemorySink();
  const writer = new StatusWriter(sink);
  writer.line("Cannot read --secret-file /tmp/a\nb: no such file");
  await writer.flushed();
  assert.equal(sink.text, "Cannot read --secret-file /tmp/a^Jb: no such file\n");
});

Deno.test("status writer stops queueing when its sink takes nothing, and counts the lines it dropped", async () => {
  const sink = new StalledSink();
  const writer = new StatusWriter(sink);
  const total = 20_000;
  for (let i = 0; i < total; i++) {
    // 100 bytes a line: 2 MB in all.
    writer.line(`status line ${i} `.padEnd(99, "."));
    if (i % 1000 === 999) await macrotask();
  }
  // One write is waiting for the sink; nothing else was given to it.
  assert.equal(sink.writes, 1);
  assert.equal(sink.received, 100);
  sink.open();
  // Flushed means the count of dropped lines is out too, after everything before it.
  await writer.flushed();
  assert.ok(sink.received < 300 * 1024, `${sink.received} bytes reached the sink`);
  const lines = sink.text.split("\n");
  assert.equal(lines.pop(), "");
  const last = lines.pop()!;
  const shown = lines.length;
  assert.ok(shown > 1000 && shown < total, `${shown} lines shown`);
  // The first lines are shown, in order; the later ones are dropped.
  lines.forEach((line, i) => assert.equal(line, `status line ${i} `.padEnd(99, ".")));
  assert.equal(last, `(${total - shown} status lines dropped: this output was not being read)`);
  // Once the sink takes data again, status lines flow again.
  writer.line("back");
  await writer.flushed();
  assert.ok(sink.text.endsWith(`${last}\nback\n`));
});
