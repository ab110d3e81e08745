/**
 * The chat window owns the terminal while it runs, run from a real shell in
 * tmux as a person runs it: Ctrl+Z and `fg`, Ctrl+D with the session still
 * going (nothing typed may reach the shell), Ctrl+D on a waiting server,
 * lines not sent when the other side leaves, Up through history by prefix,
 * and how soon Ctrl+C is answered.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { compileFlags, type ProgramName, ROOT } from "../support/process.ts";
import { haveTmux, Tmux } from "../support/tmux.ts";
import { quietFor } from "../support/wait.ts";

const encoder = new TextEncoder();
const skip = haveTmux() ? "" : " (skipped: tmux is not installed; .ci/run installs it)";

function terminalTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: name + skip, ignore: skip !== "", fn });
}

/** The command line of a program, as the tests run it everywhere, as one line for a shell. */
function commandLine(name: ProgramName, args: string[]): string {
  return [Deno.execPath(), "run", ...compileFlags(name), "--no-prompt", `${ROOT}${name}.ts`, ...args].join(" ");
}

/** A shell in pane `shell` that runs a client; a raw TCP peer on loopback that it connects to. */
async function clientFromShell(tmux: Tmux, args: string[]) {
  await tmux.shell("shell", { env: { NO_COLOR: "1" } });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  await tmux.type("shell", commandLine("client", ["127.0.0.1", String(port), ...args]));
  await tmux.keys("shell", "Enter");
  const conn = await listener.accept();
  listener.close();
  await tmux.waitFor("shell", /\] >$/);
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  return {
    port,
    conn,
    reader,
    send: (text: string) => writeAll(conn, encoder.encode(text)),
    [Symbol.dispose]: () => {
      try {
        conn.close();
      } catch {
        // Closed by the test already.
      }
    },
  };
}

/** The exit status of the last command in the shell of pane `name`, which must be at its prompt. */
async function lastStatus(tmux: Tmux, name: string): Promise<number> {
  await tmux.type(name, `echo "STATUS=$?"`);
  await tmux.keys(name, "Enter");
  const screen = await tmux.waitFor(name, /^STATUS=\d+$/);
  return Number(screen.findLast((row) => row.startsWith("STATUS="))!.slice("STATUS=".length));
}

for (const mode of ["alternating", "duplex"] as const) {
  terminalTest(`${mode}: Ctrl+Z gives the terminal back and stops; after fg the chat goes on`, async () => {
    await using tmux = new Tmux();
    await tmux.shell("shell", { env: { NO_COLOR: "1" } });
    const before = await tmux.stty("shell");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await tmux.type(
      "shell",
      commandLine("client", ["127.0.0.1", String(listener.addr.port), ...(mode === "duplex" ? ["--duplex"] : [])]),
    );
    await tmux.keys("shell", "Enter");
    using conn = await listener.accept();
    listener.close();
    const reader = new LineReader(conn, { maxLineBytes: 1024 });
    await tmux.waitFor("shell", /\] >$/);
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
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      await tmux.type(
        "shell",
        commandLine("client", ["127.0.0.1", String(listener.addr.port), ...(mode === "duplex" ? ["--duplex"] : [])]),
      );
      await tmux.keys("shell", "Enter");
      using conn = await listener.accept();
      listener.close();
      const reader = new LineReader(conn, { maxLineBytes: 1024 });
      await tmux.waitFor("shell", /\] >$/);
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
        await conn.write(encoder.encode("still here\n"));
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
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await tmux.type("shell", commandLine("client", ["127.0.0.1", String(listener.addr.port), "--duplex"]));
  await tmux.keys("shell", "Enter");
  using conn = await listener.accept();
  listener.close();
  await tmux.waitFor("shell", /\] >$/);
  await tmux.keys("shell", "C-d");
  await tmux.waitFor("shell", /^\[input ended; still receiving from 127\.0\.0\.1:\d+ — Ctrl\+C to leave\]$/);
  await tmux.type("shell", "ignored");
  await tmux.keys("shell", "C-c");
  await tmux.waitFor("shell", [/^interrupted: left 127\.0\.0\.1:\d+$/, /^\$$/]);
  assert.equal(await lastStatus(tmux, "shell"), 0);
  assert.equal(await tmux.stty("shell"), before);
  assert.ok(!(await tmux.screen("shell")).some((row) => row.includes("ignored")));
  assert.equal(await new LineReader(conn, { maxLineBytes: 100 }).readLine(), null);
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
