/**
 * The chat window owns the terminal while it runs, run from a real shell in
 * tmux as a person runs it: Ctrl+Z and `fg`, Ctrl+D with the session still
 * going (nothing typed may reach the shell), Ctrl+D on a waiting server,
 * lines not sent when the other side leaves, Up through history by prefix,
 * and how soon Ctrl+C is answered.
 */

import assert from "node:assert/strict";
import { clientInShell, commandLine, lastStatus, type RawPeer, terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";
import { quietFor } from "../support/wait.ts";

/** A shell in pane `shell` that runs a client; a raw TCP peer on loopback that it connects to. */
async function clientFromShell(tmux: Tmux, args: string[]): Promise<RawPeer> {
  await tmux.shell("shell", { env: { NO_COLOR: "1" } });
  return await clientInShell(tmux, args);
}

for (const mode of ["alternating", "duplex"] as const) {
  terminalTest(`${mode}: Ctrl+Z gives the terminal back and stops; after fg the chat goes on`, async () => {
    await using tmux = new Tmux();
    await tmux.shell("shell", { env: { NO_COLOR: "1" } });
    const before = await tmux.stty("shell");
    using peer = await clientInShell(tmux, mode === "duplex" ? ["--duplex"] : []);
    const { reader } = peer;
    await tmux.type("shell", "half");
    await tmux.waitFor("shell", /\] > half$/);

    await tmux.keys("shell", "C-z");
    // The shell has the terminal again: job stopped, prompt back, the input line erased, the modes as they were.
    const stopped = await tmux.waitFor("shell", [/Stopped/, /^\$$/]);
    assert.ok(!stopped.some((row) => /\] > half$/.test(row)), stopped.join("\n"));
    assert.equal(await tmux.stty("shell"), before);

    await tmux.type("shell", "fg");
    await tmux.keys("shell", "Enter");
    // Taken again: the prompt and what was typed are back, keys are read and not echoed by the terminal.
    await tmux.waitFor("shell", /\] > half$/);
    await tmux.type("shell", " and more");
    await tmux.waitFor("shell", /\] > half and more$/);
    await tmux.keys("shell", "Enter");
    assert.equal(await reader.readLine(), "half and more");

    await tmux.keys("shell", "C-c");
    await tmux.waitFor("shell", /^interrupted: left 127\.0\.0\.1:\d+$/);
    assert.equal(await reader.readLine(), null);
    await tmux.waitFor("shell", /^\$$/);
    assert.equal(await lastStatus(tmux, "shell"), 0);
    assert.equal(await tmux.stty("shell"), before);
  });
}

for (const mode of ["alternating", "duplex"] as const) {
  terminalTest(
    `${mode}: after Ctrl+D parley keeps the terminal: keys are refused, nothing reaches the shell`,
    async () => {
      await using tmux = new Tmux();
      await tmux.shell("shell", { env: { NO_COLOR: "1" } });
      const before = await tmux.stty("shell");
      using peer = await clientInShell(tmux, mode === "duplex" ? ["--duplex"] : []);
      const { conn, reader } = peer;
      if (mode === "alternating") {
        // A line sent, and one queued behind it: the session goes on after Ctrl+D until it is sent.
        await tmux.type("shell", "first");
        await tmux.keys("shell", "Enter");
        assert.equal(await reader.readLine(), "first");
        await tmux.type("shell", "second");
        await tmux.keys("shell", "Enter");
        await tmux.waitFor("shell", /1 queued\] >$/);
      }
      await tmux.keys("shell", "C-d");
      const status = mode === "duplex"
        ? /^\[input ended; still receiving from 127\.0\.0\.1:\d+ — Ctrl\+C to leave\]$/
        : /^\[input ended; 1 queued — Ctrl\+C to leave\]$/;
      await tmux.waitFor("shell", status);
      if (mode === "duplex") assert.equal(await reader.readLine(), null);

      // Typed while parley runs: refused, not echoed, and not left for the shell.
      await tmux.type("shell", "echo LEAKED");
      await tmux.keys("shell", "Enter");
      await tmux.type("shell", "typed ahead");
      if (mode === "duplex") {
        await peer.send("still here\n");
        await tmux.waitFor("shell", [/: still here$/, status]);
      }
      await quietFor(300, "a terminal in cooked mode echoes typed keys at once");
      const screen = await tmux.waitFor("shell", status);
      assert.ok(!screen.some((row) => row.includes("LEAKED") || row.includes("typed ahead")), screen.join("\n"));

      conn.close();
      await tmux.waitFor("shell", /^127\.0\.0\.1:\d+ left/);
      await tmux.waitFor("shell", /^\$$/);
      assert.equal(await lastStatus(tmux, "shell"), 0);
      assert.equal(await tmux.stty("shell"), before);
      const after = await tmux.screen("shell");
      assert.ok(!after.some((row) => row.includes("LEAKED") || row.includes("typed ahead")), after.join("\n"));
    },
  );
}

terminalTest("Ctrl+D on a server waiting for a client: it says so and leaves, exit 0", async () => {
  await using tmux = new Tmux();
  await tmux.shell("shell", { env: { NO_COLOR: "1" } });
  const before = await tmux.stty("shell");
  await tmux.type("shell", commandLine("server", ["127.0.0.1", "0"]));
  await tmux.keys("shell", "Enter");
  await tmux.waitFor("shell", /^\[waiting for a client on 127\.0\.0\.1:\d+\] >$/);
  await tmux.keys("shell", "C-d");
  await tmux.waitFor("shell", [/^no client came; leaving$/, /^\$$/]);
  assert.equal(await lastStatus(tmux, "shell"), 0);
  assert.equal(await tmux.stty("shell"), before);
});

terminalTest("the other side leaving: the lines not sent and the half-typed line are shown", async () => {
  await using tmux = new Tmux();
  using peer = await clientFromShell(tmux, []);
  await tmux.type("shell", "sent one");
  await tmux.keys("shell", "Enter");
  assert.equal(await peer.reader.readLine(), "sent one");
  await tmux.paste("shell", "queued two\nqueued three\n");
  await tmux.waitFor("shell", /2 queued\] >$/);
  await tmux.type("shell", "half typed");
  await tmux.waitFor("shell", /2 queued\] > half typed$/);
  peer.conn.close();
  const screen = await tmux.waitFor("shell", /^\$$/);
  const end = screen.findIndex((row) => /^127\.0\.0\.1:\d+ left; 2 lines not sent$/.test(row));
  assert.ok(end >= 0, screen.join("\n"));
  // Shown to be copied: each line not sent, then the one being typed.
  assert.deepEqual(screen.slice(end + 1, end + 4), [
    "not sent: queued two",
    "not sent: queued three",
    "not sent: half typed",
  ]);
});

terminalTest("Up finds earlier lines that begin with what was typed, and stops at the oldest", async () => {
  await using tmux = new Tmux();
  using peer = await clientFromShell(tmux, ["--duplex"]);
  for (const line of ["apple one", "banana", "apple two"]) {
    await tmux.type("shell", line);
    await tmux.keys("shell", "Enter");
    assert.equal(await peer.reader.readLine(), line);
  }
  await tmux.type("shell", "app");
  await tmux.keys("shell", "Up");
  await tmux.waitFor("shell", /\] > apple two$/);
  await tmux.keys("shell", "Up");
  await tmux.waitFor("shell", /\] > apple one$/);
  // No older match: the line stays (readline went back to "app").
  await tmux.keys("shell", "Up");
  await tmux.type("shell", "!");
  await tmux.waitFor("shell", /\] > apple one!$/);
  await tmux.keys("shell", "Enter");
  assert.equal(await peer.reader.readLine(), "apple one!");
});

terminalTest("after Ctrl+D, Ctrl+C still leaves at once: exit 0, the terminal as it was", async () => {
  await using tmux = new Tmux();
  await tmux.shell("shell", { env: { NO_COLOR: "1" } });
  const before = await tmux.stty("shell");
  using peer = await clientInShell(tmux, ["--duplex"]);
  await tmux.keys("shell", "C-d");
  await tmux.waitFor("shell", /^\[input ended; still receiving from 127\.0\.0\.1:\d+ — Ctrl\+C to leave\]$/);
  await tmux.type("shell", "ignored");
  await tmux.keys("shell", "C-c");
  await tmux.waitFor("shell", [/^interrupted: left 127\.0\.0\.1:\d+$/, /^\$$/]);
  assert.equal(await lastStatus(tmux, "shell"), 0);
  assert.equal(await tmux.stty("shell"), before);
  assert.ok(!(await tmux.screen("shell")).some((row) => row.includes("ignored")));
  assert.equal(await peer.reader.readLine(), null);
});

terminalTest(
  "alternating, Ctrl+D after a line: the status says it waits for the reply, then parley leaves",
  async () => {
    await using tmux = new Tmux();
    using peer = await clientFromShell(tmux, []);
    await tmux.type("shell", "what time is it?");
    await tmux.keys("shell", "Enter");
    assert.equal(await peer.reader.readLine(), "what time is it?");
    await tmux.keys("shell", "C-d");
    await tmux.waitFor(
      "shell",
      /^\[input ended; waiting for the reply of 127\.0\.0\.1:\d+ — Ctrl\+C to leave\]$/,
    );
    await peer.send("noon\n");
    await tmux.waitFor("shell", /^end of input: left 127\.0\.0\.1:\d+$/);
    assert.equal(await lastStatus(tmux, "shell"), 0);
  },
);
