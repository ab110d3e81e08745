/**
 * The programs on a real terminal, driven through tmux: line editing and
 * history, messages arriving while typing, labels and colours, escape
 * sequences from the peer, leaving with Ctrl+C, and wide characters as the
 * input wraps and the window is resized.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { command, terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";
import { waitFor } from "../support/wait.ts";

const encoder = new TextEncoder();
/** A raw TCP peer on loopback that a client in tmux connects to. */
async function clientWithPeer(
  tmux: Tmux,
  args: string[] = [],
  env: Record<string, string> = { NO_COLOR: "1" },
  width?: number,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await tmux.start("client", command("client", ["127.0.0.1", String(port), ...args]), { env, width });
  const conn = await listener.accept();
  listener.close();
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  return {
    port,
    conn,
    reader,
    send: (text: string) => writeAll(conn, encoder.encode(text)),
    [Symbol.dispose]: () => conn.close(),
  };
}

for (const mode of ["alternating", "duplex"] as const) {
  terminalTest(`${mode}: a message arriving while typing goes above; the typed line and cursor stay`, async () => {
    await using tmux = new Tmux();
    using peer = await clientWithPeer(tmux, mode === "duplex" ? ["--duplex"] : []);
    await tmux.waitFor("client", /\] >$/);
    await tmux.type("client", "half typed");
    await tmux.keys("client", "Left", "Left");
    await tmux.waitFor("client", /> half typed$/);
    const before = await tmux.cursor("client");

    await peer.send("incoming one\nincoming two\n");
    // Both messages above, and the typed line redrawn below them; alternating, a word that the peer does not take turns.
    const notice = mode === "alternating" ? [/^-- 127\.0\.0\.1:\d+ is not taking turns; /] : [];
    await tmux.waitFor("client", [
      new RegExp(`^127\\.0\\.0\\.1:${peer.port}: incoming one$`),
      new RegExp(`^127\\.0\\.0\\.1:${peer.port}: incoming two$`),
      ...notice,
      /^\[.*\] > half typed$/,
    ]);
    assert.deepEqual(await tmux.cursor("client"), { x: before.x, y: before.y + 2 + notice.length });

    // The line is sent whole, wherever the cursor was.
    await tmux.keys("client", "Enter");
    assert.equal(await peer.reader.readLine(), "half typed");
    await tmux.waitFor("client", /^you: half typed$/);
  });
}

terminalTest("a long input line that wraps stays intact when a message arrives", async () => {
  await using tmux = new Tmux();
  using peer = await clientWithPeer(tmux, ["--duplex"], { NO_COLOR: "1" }, 40);
  await tmux.waitFor("client", /\] >$/);
  const long = Array.from({ length: 12 }, (_, i) => `word${i}`).join(" ");
  await tmux.type("client", long);
  await tmux.waitFor("client", /word11$/);
  await peer.send("a message\n");
  // The input spans several rows of the 40-column terminal; it is still whole, below the message.
  const escape = (text: string) => text.replace(/[.[\]]/g, "\\$&");
  await tmux.waitFor("client", [
    new RegExp(`^${escape(`127.0.0.1:${peer.port}: a message`)}$`),
    new RegExp(`^${escape(`[127.0.0.1:${peer.port}] > ${long}`)}$`),
  ]);
  await tmux.keys("client", "Enter");
  assert.equal(await peer.reader.readLine(), long);
});

terminalTest("line editing and history: arrows, Home/End, Ctrl+A/E/W/U, up and down", async () => {
  await using tmux = new Tmux();
  using peer = await clientWithPeer(tmux);
  await tmux.waitFor("client", /your turn\] >$/);
  await tmux.type("client", "first message");
  await tmux.keys("client", "Enter");
  assert.equal(await peer.reader.readLine(), "first message");
  await peer.send("reply\n");
  await tmux.waitFor("client", /your turn\] >$/);
  await tmux.keys("client", "Up");
  await tmux.waitFor("client", /your turn\] > first message$/);
  await tmux.keys("client", "Down");
  await tmux.waitFor("client", /your turn\] >$/);
  // Editing keys: Ctrl+A, Ctrl+E, Ctrl+W, Ctrl+U.
  await tmux.type("client", "draft");
  await tmux.keys("client", "C-a");
  await tmux.type("client", "my ");
  await tmux.keys("client", "C-e");
  await tmux.type("client", " two");
  await tmux.waitFor("client", /> my draft two$/);
  await tmux.keys("client", "C-w");
  await tmux.waitFor("client", /> my draft$/);
  await tmux.keys("client", "C-u");
  // Home and End, and arrows within the line.
  await tmux.type("client", "middle");
  await tmux.keys("client", "Home");
  await tmux.type("client", "<");
  await tmux.keys("client", "End");
  await tmux.type("client", ">");
  await tmux.keys("client", "Left", "Left", "Right");
  await tmux.type("client", "!");
  await tmux.keys("client", "Enter");
  assert.equal(await peer.reader.readLine(), "<middle!>");
});

terminalTest("the prompt tells whose turn it is and how many lines wait; a paste sends each line", async () => {
  await using tmux = new Tmux();
  using peer = await clientWithPeer(tmux);
  await tmux.waitFor("client", /^\[your turn\] >$/);
  await tmux.paste("client", "one\ntwo\nthree\n");
  assert.equal(await peer.reader.readLine(), "one");
  await tmux.waitFor("client", new RegExp(`^\\[waiting for 127\\.0\\.0\\.1:${peer.port}, 2 queued\\] >$`));
  await peer.send("ok\n");
  assert.equal(await peer.reader.readLine(), "two");
  await peer.send("ok\n");
  assert.equal(await peer.reader.readLine(), "three");
  await tmux.waitFor("client", new RegExp(`^\\[waiting for 127\\.0\\.0\\.1:${peer.port}\\] >$`));
  await peer.send("your go\n");
  const screen = await tmux.waitFor("client", /^\[your turn\] >$/);
  assert.deepEqual(screen.filter((row) => row.startsWith("you: ")), ["you: one", "you: two", "you: three"]);
});

terminalTest("duplex: once a paste has gone out, the prompt counts no queued lines", async () => {
  await using tmux = new Tmux();
  using peer = await clientWithPeer(tmux, ["--duplex"]);
  await tmux.waitFor("client", /\] >$/);
  await tmux.paste("client", "l1\nl2\nl3\nl4\nl5\nl6\n");
  for (const line of ["l1", "l2", "l3", "l4", "l5", "l6"]) assert.equal(await peer.reader.readLine(), line);
  const screen = await tmux.waitFor("client", new RegExp(`^\\[127\\.0\\.0\\.1:${peer.port}\\] >$`));
  assert.deepEqual(screen.filter((row) => row.startsWith("you: ")), [
    "you: l1",
    "you: l2",
    "you: l3",
    "you: l4",
    "you: l5",
    "you: l6",
  ]);
});

terminalTest("--name and --timestamps label each message; colours unless NO_COLOR is set", async () => {
  for (const noColor of [false, true]) {
    await using tmux = new Tmux();
    using peer = await clientWithPeer(
      tmux,
      ["--name", "alice", "--timestamps"],
      noColor ? { NO_COLOR: "1" } : {},
    );
    await tmux.waitFor("client", /your turn/);
    await tmux.type("client", "hi alice");
    await tmux.keys("client", "Enter");
    assert.equal(await peer.reader.readLine(), "hi alice");
    await peer.send("hi there\n");
    const screen = await tmux.waitFor("client", /^\d\d:\d\d:\d\d alice: hi there$/);
    assert.ok(screen.some((row) => /^\d\d:\d\d:\d\d you: hi alice$/.test(row)), screen.join("\n"));
    const coloured = (await tmux.screen("client", { escapes: true })).join("\n");
    // deno-lint-ignore no-control-regex
    assert.equal(/\x1b\[[0-9;]*3[0-9]m/.test(coloured), !noColor, coloured);
  }
});

terminalTest("no escape sequence from the peer reaches the screen", async () => {
  await using tmux = new Tmux();
  using peer = await clientWithPeer(tmux, ["--duplex"]);
  await tmux.waitFor("client", /^connected to /);
  const title = await tmux.format("client", "#{pane_title}");
  await peer.send(
    "\x1b]0;PWNED\x07\x1b[2J\x1b[H\x1b[31mred\x1b]8;;http://evil.example\x07link\x1b]8;;\x07 \u009b1A \x1b[?1049h\n",
  );
  const screen = await tmux.waitFor("client", /\^\[\[31mred/);
  assert.ok(
    screen.join("").includes(
      "^[]0;PWNED^G^[[2J^[[H^[[31mred^[]8;;http://evil.example^Glink^[]8;;^G <U+009B>1A ^[[?1049h",
    ),
    screen.join("\n"),
  );
  assert.ok(screen.some((row) => row.startsWith("connected to ")), "the screen was cleared");
  assert.equal(await tmux.format("client", "#{pane_title}"), title);
  assert.equal(await tmux.format("client", "#{alternate_on}"), "0");
  const raw = (await tmux.screen("client", { escapes: true })).join("\n");
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(raw, /\x1b\[[0-9;]*3[0-9]m/);
});

terminalTest("Ctrl+C leaves cleanly: exit 0, no stack trace, the terminal works as before", async () => {
  await using tmux = new Tmux();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await tmux.start("shell", ["bash", "--norc", "--noprofile"], { env: { PS1: "$ ", NO_COLOR: "1" } });
  await tmux.waitFor("shell", /^\$$/);
  await tmux.type("shell", command("client", ["127.0.0.1", String(port)]).join(" "));
  await tmux.keys("shell", "Enter");
  using conn = await listener.accept();
  listener.close();
  await tmux.waitFor("shell", /^\[your turn\] >$/);
  await tmux.type("shell", "typed but not sent");
  await tmux.keys("shell", "C-c");
  await tmux.waitFor("shell", /^interrupted: left 127\.0\.0\.1:\d+$/);
  assert.equal(await new LineReader(conn, { maxLineBytes: 100 }).readLine(), null);
  await tmux.type("shell", `echo "exit=$?"; stty -a | grep -oE '(^| )-?(icanon|echo)( |$)' | tr -d ' \\n'; echo`);
  await tmux.keys("shell", "Enter");
  const screen = await tmux.waitFor("shell", /^icanonecho$/);
  assert.ok(screen.includes("exit=0"), screen.join("\n"));
  assert.ok(!screen.some((row) => /^\s+at /.test(row)), screen.join("\n"));
});

terminalTest("the server on a terminal waits for a client, then chats", async () => {
  await using tmux = new Tmux();
  await tmux.start("server", command("server", ["127.0.0.1", "0"]), { env: { NO_COLOR: "1" } });
  const [, port] = (await tmux.waitFor("server", /^listening on /)).join("\n").match(/listening on \S+:(\d+)/)!;
  await tmux.waitFor("server", new RegExp(`^\\[waiting for a client on 127\\.0\\.0\\.1:${port}\\] >$`));
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  const reader = new LineReader(conn, { maxLineBytes: 100 });
  await writeAll(conn, encoder.encode("hello server\n"));
  await tmux.waitFor("server", /^127\.0\.0\.1: hello server$/);
  await tmux.waitFor("server", /^\[your turn\] >$/);
  await tmux.type("server", "hello client");
  await tmux.keys("server", "Enter");
  assert.equal(await reader.readLine(), "hello client");
  conn.close();
  await tmux.waitFor("server", /^127\.0\.0\.1:\d+ left$/);
  assert.equal(await tmux.exitStatus("server"), 0);
});

/**
 * The conversation in pane `name` with what scrolled off the top, from the
 * line that says the client connected (tmux keeps in its history what a
 * redraw at the top of the screen cleared).
 */
async function conversation(tmux: Tmux, name: string): Promise<string[]> {
  const rows = await tmux.screen(name, { history: true });
  return rows.slice(Math.max(0, rows.findIndex((row) => row.startsWith("connected to "))));
}

/** Waits until the conversation in pane `name` is exactly `expected`, one pattern per row. */
async function waitForConversation(tmux: Tmux, name: string, expected: RegExp[]): Promise<void> {
  let rows: string[] = [];
  await waitFor(
    async () =>
      (rows = await conversation(tmux, name)).length === expected.length &&
      expected.every((pattern, i) => pattern.test(rows[i])),
    { what: `the conversation ${expected.join(", ")}`, detail: () => rows.join("\n") },
  );
}

/** `count` characters two columns wide, and an `x`. */
function wide(count: number): string {
  return "漢字".repeat(count).slice(0, count) + "x";
}

terminalTest(
  "wide characters wrapping at an odd prompt width leave no stale prompt row when a message arrives",
  async () => {
    await using tmux = new Tmux();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    // `[your turn] > ` is 14 columns: in 21, a wide character meets the right edge with one column left.
    const args = ["127.0.0.1", String(listener.addr.port)];
    await tmux.start("client", command("client", args), { env: { NO_COLOR: "1" }, width: 21, height: 30 });
    using conn = await listener.accept();
    listener.close();
    await tmux.waitFor("client", /^\[your turn\] >$/);
    const typed = wide(23);
    await tmux.type("client", typed);
    await waitForConversation(tmux, "client", [/^connected to /, new RegExp(`^\\[your turn\\] > ${typed}$`)]);
    await writeAll(conn, encoder.encode("one\ntwo\n"));
    await waitForConversation(tmux, "client", [
      /^connected to /,
      /^127\.0\.0\.1:\d+: one$/,
      /^127\.0\.0\.1:\d+: two$/,
      /^-- 127\.0\.0\.1:\d+ is not taking turns; /,
      new RegExp(`^\\[your turn\\] > ${typed}$`),
    ]);
  },
);

terminalTest(
  "narrowing and widening the window with wide characters typed leaves no stale row and loses no message",
  async () => {
    await using tmux = new Tmux();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const args = ["127.0.0.1", String(listener.addr.port), "--duplex", "--name", "p"];
    await tmux.start("client", command("client", args), { env: { NO_COLOR: "1" }, width: 21, height: 30 });
    using conn = await listener.accept();
    listener.close();
    await tmux.waitFor("client", /\] >$/);
    const typed = wide(22);
    await tmux.type("client", typed);
    const prompt = new RegExp(`^\\[p\\] > ${typed}$`);
    const said = (text: string) => new RegExp(`^p: ${text}$`);
    await writeAll(conn, encoder.encode("one\n"));
    await waitForConversation(tmux, "client", [/^connected to /, said("one"), prompt]);
    // The input takes four rows at 21 columns, five at 17 and four again at 23.
    await tmux.resize("client", 17);
    await writeAll(conn, encoder.encode("two\n"));
    await waitForConversation(tmux, "client", [/^connected to /, said("one"), said("two"), prompt]);
    await tmux.resize("client", 23);
    await writeAll(conn, encoder.encode("three\n"));
    await waitForConversation(tmux, "client", [/^connected to /, said("one"), said("two"), said("three"), prompt]);
  },
);

terminalTest("alternating: a peer that does not take turns is told once, with the --duplex hint", async () => {
  await using tmux = new Tmux();
  using peer = await clientWithPeer(tmux);
  await tmux.waitFor("client", /^\[your turn\] >$/);
  await tmux.type("client", "hi");
  await tmux.keys("client", "Enter");
  assert.equal(await peer.reader.readLine(), "hi");
  // An answer in turn is no news.
  await peer.send("answer\n");
  await tmux.waitFor("client", [/: answer$/, /^\[your turn\] >$/]);
  // A second line on our turn is.
  await peer.send("again\n");
  // Shown before the next line is sent: two lines in one read would be told after both.
  await tmux.waitFor("client", /is not taking turns; /);
  await peer.send("and again\n");
  const screen = await tmux.waitFor("client", [
    /: answer$/,
    /: again$/,
    new RegExp(`^-- 127\\.0\\.0\\.1:${peer.port} is not taking turns; if it runs --duplex, use --duplex too$`),
    /: and again$/,
    /^\[your turn\] >$/,
  ]);
  assert.equal(screen.filter((row) => row.includes("not taking turns")).length, 1, screen.join("\n"));
});
