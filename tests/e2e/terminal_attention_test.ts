/**
 * Attention, in tmux: the pane's title names the peer, counts the messages
 * that came while the window was not focused (focus out and in are the
 * bytes a terminal sends with focus reporting on, `ESC [ O` and `ESC [ I`),
 * `--bell` rings for them (tmux's bell flag on the window), the focus
 * reports never reach the input line, and the title is given back on
 * Ctrl+Z, on leaving and when the peer leaves (tmux keeps a title stack).
 */

import assert from "node:assert/strict";
import { clientInShell, terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";
import { quietFor } from "../support/wait.ts";

const TITLE = "#{pane_title}";
const BELL_FLAG = "#{window_bell_flag}";
const FOCUS_OUT = [0x1b, 0x5b, 0x4f];
const FOCUS_IN = [0x1b, 0x5b, 0x49];

/** A shell in pane `shell` with its title; a client run from it (duplex unless `args` say), connected to a raw TCP peer. */
async function clientFromShell(tmux: Tmux, args: string[] = ["--duplex"]) {
  await tmux.shell("shell", { env: { NO_COLOR: "1" } });
  const before = await tmux.format("shell", TITLE);
  assert.doesNotMatch(before, /parley/);
  const peer = await clientInShell(tmux, args);
  return Object.assign(peer, {
    before,
    /** Sends `text` as one line and waits until it is shown. */
    async say(text: string): Promise<void> {
      await peer.send(text + "\n");
      await tmux.waitFor("shell", new RegExp(`^127\\.0\\.0\\.1:\\d+: ${text}$`));
    },
  });
}

/**
 * Sends the focus report `report` to pane `shell` and waits until the client has read it: a key typed after it
 * shows on the input line (the keys are read in order), and is then deleted. The peer's lines come on another
 * connection, which could otherwise be read first.
 */
async function sendFocus(tmux: Tmux, report: number[]): Promise<void> {
  await tmux.bytes("shell", ...report, 0x2e);
  await tmux.waitFor("shell", /\] > \.$/);
  await tmux.keys("shell", "BSpace");
  await tmux.waitFor("shell", /\] >$/);
}

terminalTest("the title names the peer, counts messages while unfocused, and focus in clears it", async () => {
  await using tmux = new Tmux();
  using peer = await clientFromShell(tmux);
  const title = `parley: 127.0.0.1:${peer.port}`;
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^parley: /), title);

  // Focused: a message changes nothing.
  await peer.say("seen");
  await quietFor(200, "a count would be written right after the message is printed");
  assert.equal(await tmux.format("shell", TITLE), title);

  await sendFocus(tmux, FOCUS_OUT);
  await peer.say("one");
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^\(1\) /), `(1) ${title}`);
  await peer.say("two");
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^\(2\) /), `(2) ${title}`);

  await tmux.bytes("shell", ...FOCUS_IN);
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^parley/), title);
  // No bell without --bell.
  assert.equal(await tmux.format("shell", BELL_FLAG), "0");
});

terminalTest("focus reports never reach the input line, even in the middle of typing", async () => {
  await using tmux = new Tmux();
  using peer = await clientFromShell(tmux);
  await tmux.type("shell", "ab");
  await tmux.bytes("shell", ...FOCUS_OUT);
  await tmux.type("shell", "cd");
  await tmux.bytes("shell", ...FOCUS_IN, ...FOCUS_OUT, ...FOCUS_IN);
  await tmux.type("shell", "ef");
  const screen = await tmux.waitFor("shell", /\] > abcdef$/);
  assert.ok(!screen.some((row) => row.includes("[O") || row.includes("[I")), screen.join("\n"));
  await tmux.keys("shell", "Enter");
  assert.equal(await peer.reader.readLine(), "abcdef");
});

terminalTest("--bell rings for a message while unfocused, not while focused", async () => {
  await using tmux = new Tmux();
  using peer = await clientFromShell(tmux, ["--duplex", "--bell"]);
  await peer.say("seen");
  await quietFor(200, "a bell would be rung right after the message is printed");
  assert.equal(await tmux.format("shell", BELL_FLAG), "0");
  await sendFocus(tmux, FOCUS_OUT);
  await peer.say("unseen");
  await tmux.waitForFormat("shell", BELL_FLAG, /^1$/);
});

terminalTest("the title is given back on Ctrl+Z and taken again on fg, and given back on Ctrl+C", async () => {
  await using tmux = new Tmux();
  using peer = await clientFromShell(tmux);
  const title = `parley: 127.0.0.1:${peer.port}`;
  await tmux.waitForFormat("shell", TITLE, /^parley: /);
  await tmux.keys("shell", "C-z");
  await tmux.waitFor("shell", /^\$$/);
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^(?!parley)/), peer.before);
  await tmux.type("shell", "fg");
  await tmux.keys("shell", "Enter");
  await tmux.waitFor("shell", /\] >$/);
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^parley/), title);
  await tmux.keys("shell", "C-c");
  await tmux.waitFor("shell", /^\$$/);
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^(?!parley)/), peer.before);
});

terminalTest("the title is given back when the peer leaves", async () => {
  await using tmux = new Tmux();
  // Alternating: the peer's leaving is known as soon as its connection closes.
  const peer = await clientFromShell(tmux, []);
  await tmux.waitForFormat("shell", TITLE, /^parley: /);
  await sendFocus(tmux, FOCUS_OUT);
  await peer.say("bye");
  await tmux.waitForFormat("shell", TITLE, /^\(1\) parley: /);
  peer.conn.close();
  await tmux.waitFor("shell", /^\$$/);
  assert.equal(await tmux.waitForFormat("shell", TITLE, /^(?!\(1\)|parley)/), peer.before);
});
