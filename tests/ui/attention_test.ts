import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { ReadStream } from "node:tty";
import { setTimeout as delay } from "node:timers/promises";
import fc from "fast-check";
import {
  Attention,
  BELL,
  FOCUS_OFF,
  FOCUS_ON,
  FocusFilter,
  POP_TITLE,
  PUSH_TITLE,
  setTitle,
  titleText,
} from "../../lib/ui/attention.ts";
import { FOCUS_HOLD_MS, PacedInput } from "../../lib/ui/paced_input.ts";

/** A screen that keeps what was written. */
class FakeScreen {
  text = "";
  write(text: string): boolean {
    this.text += text;
    return true;
  }
  /** What was written since the last call. */
  take(): string {
    const text = this.text;
    this.text = "";
    return text;
  }
}

Deno.test("start saves the title, turns focus reporting on and says parley; stop undoes both", () => {
  const screen = new FakeScreen();
  const attention = new Attention(screen, { bell: false });
  attention.start();
  assert.equal(screen.take(), PUSH_TITLE + FOCUS_ON + setTitle("parley"));
  assert.equal(PUSH_TITLE, "\x1b[22;0t");
  assert.equal(FOCUS_ON, "\x1b[?1004h");
  assert.equal(setTitle("parley"), "\x1b]2;parley\x07");
  attention.start();
  assert.equal(screen.take(), "", "started once");
  attention.stop();
  assert.equal(screen.take(), FOCUS_OFF + POP_TITLE);
  assert.equal(FOCUS_OFF + POP_TITLE, "\x1b[?1004l\x1b[23;0t");
  attention.stop();
  assert.equal(screen.take(), "", "stopped once");
  // Started again (after fg): the title as it was.
  attention.setPeer("host:1");
  assert.equal(screen.take(), "", "nothing written while stopped");
  attention.start();
  assert.equal(screen.take(), PUSH_TITLE + FOCUS_ON + setTitle("parley: host:1"));
});

Deno.test("the title names the peer, and parley alone without one", () => {
  const screen = new FakeScreen();
  const attention = new Attention(screen, { bell: false });
  attention.start();
  screen.take();
  attention.setPeer("127.0.0.1:4000");
  assert.equal(screen.take(), setTitle("parley: 127.0.0.1:4000"));
  attention.setPeer("127.0.0.1:4000");
  assert.equal(screen.take(), "", "unchanged");
  attention.setPeer(undefined);
  assert.equal(screen.take(), setTitle("parley"));
});

Deno.test("messages while unfocused are counted in the title until focus comes back", () => {
  const screen = new FakeScreen();
  const attention = new Attention(screen, { bell: false });
  attention.start();
  attention.setPeer("bob");
  screen.take();
  attention.message();
  assert.equal(screen.take(), "", "focused: nothing");
  assert.equal(attention.unread, 0);
  attention.focus(false);
  assert.equal(screen.take(), "");
  attention.message();
  assert.equal(screen.take(), setTitle("(1) parley: bob"));
  attention.message();
  assert.equal(screen.take(), setTitle("(2) parley: bob"));
  assert.equal(attention.unread, 2);
  attention.focus(true);
  assert.equal(screen.take(), setTitle("parley: bob"));
  assert.equal(attention.unread, 0);
  attention.focus(true);
  assert.equal(screen.take(), "", "already clear");
});

Deno.test("--bell rings for each message while unfocused, never while focused", () => {
  const screen = new FakeScreen();
  const attention = new Attention(screen, { bell: true });
  attention.start();
  screen.take();
  attention.message();
  assert.equal(screen.take(), "");
  attention.focus(false);
  attention.message();
  assert.equal(screen.take(), BELL + setTitle("(1) parley"));
  assert.equal(BELL, "\x07");
  const quietScreen = new FakeScreen();
  const other = new Attention(quietScreen, { bell: false });
  other.start();
  other.focus(false);
  quietScreen.take();
  other.message();
  assert.equal(quietScreen.take(), setTitle("(1) parley"), "no bell without --bell");
});

Deno.test("the title holds no control characters, whatever the peer is named", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), fc.nat(1000), (name, unread) => {
      const text = titleText(name, unread);
      assert.doesNotMatch(text, /[\p{Cc}\p{Cf}]/u);
      assert.ok(text.length <= 128);
      assert.ok(text.startsWith(unread > 0 ? `(${unread}) parley` : "parley"));
    }),
  );
  assert.equal(titleText("evil\x07\x1b]2;pwned", 0), "parley: evil^G^[]2;pwned");
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `chunks` through a filter; returns the keys passed on (with what is held flushed) and the reports. */
function filterAll(chunks: Uint8Array[]): { keys: string; reports: boolean[] } {
  const reports: boolean[] = [];
  const filter = new FocusFilter((focused) => reports.push(focused));
  let keys = "";
  for (const chunk of chunks) keys += decoder.decode(filter.filter(chunk));
  keys += decoder.decode(filter.flush());
  return { keys, reports };
}

Deno.test("focus reports are taken out of the keys, and other escapes kept", () => {
  assert.deepEqual(filterAll([encoder.encode("ab\x1b[Ocd\x1b[I\x1b[Aef")]), {
    keys: "abcd\x1b[Aef",
    reports: [false, true],
  });
  assert.deepEqual(filterAll([encoder.encode("\x1b\x1b[O\x1b[Z")]), { keys: "\x1b\x1b[Z", reports: [false] });
  // A lone Escape at the end is held, then given back.
  const filter = new FocusFilter(() => {});
  assert.equal(decoder.decode(filter.filter(encoder.encode("x\x1b"))), "x");
  assert.ok(filter.holding);
  assert.equal(decoder.decode(filter.flush()), "\x1b");
  assert.ok(!filter.holding);
});

Deno.test("focus reports split across reads anywhere are still taken out", () => {
  const text = "a\x1b[Ob\x1b[I\x1b[I\x1bc\x1b[Dd\x1b[O";
  const bytes = encoder.encode(text);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 })), (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const chunks = points.slice(1).map((end, i) => bytes.slice(points[i], end));
      assert.deepEqual(filterAll(chunks), { keys: "ab\x1bc\x1b[Dd", reports: [false, true, true, false] });
    }),
  );
});

Deno.test("the terminal's input passes keys on without focus reports; a lone Escape goes on after a moment", async () => {
  const source = Object.assign(new EventEmitter(), {
    pause: () => {},
    setRawMode: () => {},
  }) as unknown as ReadStream;
  const input = new PacedInput(source);
  const reports: boolean[] = [];
  input.filterFocus((focused) => reports.push(focused));
  let passed = "";
  input.stream.on("data", (chunk: Uint8Array) => passed += decoder.decode(chunk));
  source.emit("data", encoder.encode("ab\x1b["));
  source.emit("data", encoder.encode("Ocd\x1b"));
  await delay(0);
  assert.equal(passed, "abcd");
  assert.deepEqual(reports, [false]);
  await delay(FOCUS_HOLD_MS + 50);
  assert.equal(passed, "abcd\x1b");
  source.emit("data", encoder.encode("\x1b"));
  input.close();
  await delay(FOCUS_HOLD_MS + 20);
  assert.equal(passed, "abcd\x1b", "nothing after close");
});
