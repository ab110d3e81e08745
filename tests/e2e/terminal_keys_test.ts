/**
 * The chat window's keys and local commands, in tmux: `/help`, `/quit`,
 * `//`, unknown commands refused; and moving and deleting by grapheme
 * cluster (a combining accent, a flag, a skin tone, a ZWJ sequence), checked
 * by the exact line the peer receives and by where the cursor is drawn.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { command, terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";
import { waitFor, waitForSteady } from "../support/wait.ts";

/** A duplex client in pane `client`, connected to a raw TCP peer on loopback. */
async function duplexClient(tmux: Tmux) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await tmux.start("client", command("client", ["127.0.0.1", String(port), "--duplex"]), { env: { NO_COLOR: "1" } });
  const conn = await listener.accept();
  listener.close();
  await tmux.waitFor("client", /^\[127\.0\.0\.1:\d+\] >$/);
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  return { port, conn, reader, [Symbol.dispose]: () => conn.close() };
}

/** Types `text` and presses Enter. */
async function enter(tmux: Tmux, text: string): Promise<void> {
  await tmux.type("client", text);
  await tmux.keys("client", "Enter");
}

terminalTest("/help shows the keys and commands above the input line and sends nothing", async () => {
  await using tmux = new Tmux();
  using peer = await duplexClient(tmux);
  await enter(tmux, "/help");
  const screen = await tmux.waitFor("client", [
    /^commands:$/,
    /^ {2}\/help /,
    /^ {2}\/quit /,
    /^ {2}\/\/text /,
    /\] >$/,
  ]);
  for (const key of ["Enter", "Ctrl+C", "Ctrl+D", "Ctrl+Z", "Left/Right", "Ctrl+W", "Up/Down"]) {
    assert.ok(screen.some((row) => row.includes(key)), `${key}:\n${screen.join("\n")}`);
  }
  assert.ok(!screen.some((row) => row.startsWith("you: ")), screen.join("\n"));
  // The next line sent is the first the peer receives: /help was not sent.
  await enter(tmux, "after help");
  assert.equal(await peer.reader.readLine(), "after help");
});

terminalTest("/quit leaves as Ctrl+C does, with exit 0", async () => {
  await using tmux = new Tmux();
  using peer = await duplexClient(tmux);
  await enter(tmux, "/quit");
  await tmux.waitFor("client", /^interrupted: left 127\.0\.0\.1:\d+$/);
  assert.equal(await tmux.exitStatus("client"), 0);
  assert.equal(await peer.reader.readLine(), null);
});

terminalTest("// sends a line that starts with /; /, / x and /1 are sent as they are", async () => {
  await using tmux = new Tmux();
  using peer = await duplexClient(tmux);
  await enter(tmux, "//x");
  assert.equal(await peer.reader.readLine(), "/x");
  await tmux.waitFor("client", /^you: \/x$/);
  for (const line of ["/", "/ x", "/1"]) {
    await enter(tmux, line);
    assert.equal(await peer.reader.readLine(), line);
  }
});

terminalTest("an unknown command is refused with one line and not sent", async () => {
  await using tmux = new Tmux();
  using peer = await duplexClient(tmux);
  await enter(tmux, "/nope");
  const screen = await tmux.waitFor("client", [
    /^unknown command \/nope: \/help lists the commands; \/\/ sends a line that starts with \/$/,
    /^\[127\.0\.0\.1:\d+\] >$/,
  ]);
  assert.ok(!screen.some((row) => row.startsWith("you: ")), screen.join("\n"));
  await enter(tmux, "next");
  assert.equal(await peer.reader.readLine(), "next");
});

/**
 * Characters made of several code points, with ASCII text before and after,
 * so that the column before each is the same for readline and the terminal.
 * `columns` is false where the column after it is not: readline counts the
 * width of each code point (a flag 4 columns, the family 6), while tmux 3.3a
 * draws a flag in 2 columns, and the family in 2, 4 or 6 depending on how the
 * bytes reach it. There the cursor after the cluster is not checked (the line,
 * and so the message, is right all the same).
 */
const CLUSTERS = [
  { name: "e + U+0301", before: "caf", cluster: "e\u0301", after: "xy", columns: true },
  { name: "a flag", before: "a", cluster: "\u{1F1EB}\u{1F1F7}", after: "b", columns: false },
  { name: "a skin tone", before: "a", cluster: "\u{1F44D}\u{1F3FD}", after: "bc", columns: true },
  {
    name: "a ZWJ sequence",
    before: "ab",
    cluster: "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}",
    after: "c",
    columns: false,
  },
];

/** The cursor's column once it stops moving. */
function steadyColumn(tmux: Tmux): Promise<number> {
  return waitForSteady(async () => (await tmux.cursor("client")).x, { what: "the cursor to settle", quietMs: 150 });
}

let marks = 0;

/**
 * Types `text` at the end of the input line and returns the column where the
 * terminal put the cursor after it: a marker typed after it shows when every
 * key before it was drawn, and is deleted again.
 */
async function typeAndMeasure(tmux: Tmux, text: string): Promise<number> {
  const marker = `<${++marks}>`;
  await tmux.type("client", text + marker);
  await tmux.waitFor("client", new RegExp(`${marker}$`));
  const x = (await tmux.cursor("client")).x - marker.length;
  await tmux.keys("client", ...Array(marker.length).fill("BSpace"));
  return x;
}

/** Waits until the cursor is drawn in column `x` (when `check`; else only until it settles). */
async function cursorAt(tmux: Tmux, x: number, what: string, check = true): Promise<void> {
  if (!check) {
    await steadyColumn(tmux);
    return;
  }
  let seen = -1;
  await waitFor(async () => (seen = (await tmux.cursor("client")).x) === x, {
    what: `the cursor in column ${x} ${what}`,
    timeoutMs: 3000,
    intervalMs: 50,
    detail: () => `it is in column ${seen}`,
  });
}

terminalTest(
  "Left/Right and Ctrl+B/Ctrl+F step over a cluster whole; the cursor is where the terminal drew it",
  async () => {
    await using tmux = new Tmux();
    using peer = await duplexClient(tmux);
    for (const { name, before, cluster, after, columns } of CLUSTERS) {
      // Where the terminal itself puts the cursor after the text before, and after the cluster.
      const xBefore = await typeAndMeasure(tmux, before);
      const xAfter = await typeAndMeasure(tmux, cluster);
      await tmux.type("client", after);
      await tmux.keys("client", ...Array(after.length).fill("Left"));
      await cursorAt(tmux, xAfter, `after ${name}, by Left`, columns);
      await tmux.keys("client", "Left");
      await cursorAt(tmux, xBefore, `before ${name}, by Left`);
      await tmux.keys("client", "Right");
      await cursorAt(tmux, xAfter, `after ${name}, by Right`, columns);
      await tmux.keys("client", "C-b");
      await cursorAt(tmux, xBefore, `before ${name}, by Ctrl+B`);
      await enter(tmux, "Z");
      assert.equal(await peer.reader.readLine(), before + "Z" + cluster + after, name);

      await tmux.type("client", before + cluster + after);
      await tmux.keys("client", "C-a", ...Array(before.length + 1).fill("C-f"));
      await cursorAt(tmux, xAfter, `after ${name}, by Ctrl+F`, columns);
      await enter(tmux, "Z");
      assert.equal(await peer.reader.readLine(), before + cluster + "Z" + after, name);
    }
  },
);

terminalTest("cafe + U+0301 + xy, Left twice or three times, Z: the accent stays on its e", async () => {
  await using tmux = new Tmux();
  using peer = await duplexClient(tmux);
  await tmux.type("client", "cafe\u0301xy");
  await tmux.keys("client", "Left", "Left");
  await enter(tmux, "Z");
  assert.equal(await peer.reader.readLine(), "cafe\u0301Zxy");
  await tmux.type("client", "cafe\u0301xy");
  await tmux.keys("client", "Left", "Left", "Left");
  await enter(tmux, "Z");
  assert.equal(await peer.reader.readLine(), "cafZe\u0301xy");
});

terminalTest("Backspace, Ctrl+H, Delete and Ctrl+D delete a cluster whole", async () => {
  await using tmux = new Tmux();
  using peer = await duplexClient(tmux);
  for (const { name, before, cluster, after } of CLUSTERS) {
    for (const key of ["BSpace", "C-h"]) {
      await tmux.type("client", before + cluster + after);
      await tmux.keys("client", ...Array(after.length).fill("Left"), key);
      await tmux.keys("client", "Enter");
      assert.equal(await peer.reader.readLine(), before + after, `${name}, ${key}`);
    }
    for (const key of ["DC", "C-d"]) {
      await tmux.type("client", before + cluster + after);
      await tmux.keys("client", "Home", ...Array(before.length).fill("Right"), key);
      await tmux.keys("client", "Enter");
      assert.equal(await peer.reader.readLine(), before + after, `${name}, ${key}`);
    }
  }
});

terminalTest(
  "lines typed on a server waiting for a client are counted in the prompt, then sent on its turn",
  async () => {
    await using tmux = new Tmux();
    await tmux.start("server", command("server", ["127.0.0.1", "0"]), { env: { NO_COLOR: "1" } });
    const [, port] = (await tmux.waitFor("server", /^listening on /)).join("\n").match(/listening on \S+:(\d+)/)!;
    await tmux.waitFor("server", new RegExp(`^\\[waiting for a client on 127\\.0\\.0\\.1:${port}\\] >$`));
    await tmux.type("server", "typed early");
    await tmux.keys("server", "Enter");
    await tmux.waitFor("server", new RegExp(`^\\[waiting for a client on 127\\.0\\.0\\.1:${port}, 1 queued\\] >$`));
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    const reader = new LineReader(conn, { maxLineBytes: 100 });
    await writeAll(conn, new TextEncoder().encode("hello server\n"));
    assert.equal(await reader.readLine(), "typed early");
    conn.close();
    await tmux.waitFor("server", /^127\.0\.0\.1:\d+ left$/);
    assert.equal(await tmux.exitStatus("server"), 0);
  },
);
