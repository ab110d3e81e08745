/**
 * The chat window under pressure, in a real terminal (tmux): a paste of
 * thousands of characters, and a peer that floods, must not make the
 * program deaf to Ctrl+C or SIGTERM.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { WIND_DOWN_MS } from "../../lib/cli/program.ts";
import { portsOf, tcpBacklog } from "../support/net.ts";
import { command, terminalTest } from "../support/terminal.ts";
import { Tmux } from "../support/tmux.ts";
import { waitFor } from "../support/wait.ts";

/** The pid of the program running in pane `name` (the child of the pane's shell). */
async function programPid(tmux: Tmux, name: string): Promise<number> {
  const shell = await tmux.format(name, "#{pane_pid}");
  const { stdout } = await new Deno.Command("pgrep", { args: ["-P", shell] }).output();
  const pid = Number(new TextDecoder().decode(stdout).trim().split("\n")[0]);
  assert.ok(pid > 0, `no program under the pane's shell ${shell}`);
  return pid;
}

/** A client in tmux, in duplex mode, connected to a raw peer; the peer's end is returned. */
async function clientInTerminal(tmux: Tmux): Promise<Deno.Conn> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await tmux.start("client", command("client", ["127.0.0.1", String(listener.addr.port), "--duplex"]), {
    env: { NO_COLOR: "1" },
  });
  const conn = await listener.accept();
  await tmux.waitFor("client", /\] >$/);
  return conn;
}

/** True while process `pid` runs. */
async function alive(pid: number): Promise<boolean> {
  return (await new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).output()).success;
}

/**
 * Waits for process `pid` to end, and checks it took less than the bound
 * after `since`, and that the pane shows no stack trace. (A long input line
 * can leave the pane's last rows cleared, so the exit is watched on the
 * process itself.)
 */
async function assertEndsInTime(tmux: Tmux, pid: number, since: number, what: string): Promise<void> {
  await waitFor(async () => !await alive(pid), {
    what: `the program to end after ${what}`,
    timeoutMs: Math.max(0, since + 20_000 - performance.now()),
    intervalMs: 20,
  });
  const took = performance.now() - since;
  // The bound is WIND_DOWN_MS; the margin keeps a loaded machine from failing the test.
  assert.ok(took < WIND_DOWN_MS + 3000, `${what}: still running ${Math.round(took)} ms later`);
  const screen = (await tmux.screen("client")).join("\n");
  assert.doesNotMatch(screen, /Uncaught|^\s+at .+:\d+:\d+/m);
  const exit = /^\[exit (\d+)\]$/m.exec(screen);
  if (exit) assert.equal(Number(exit[1]), 0);
}

for (const how of ["Ctrl+C", "SIGTERM"] as const) {
  terminalTest(`${how} right after pasting 8000 characters ends the program in time`, async () => {
    await using tmux = new Tmux();
    using _peer = await clientInTerminal(tmux);
    const pid = await programPid(tmux, "client");
    // readline redraws the whole line for each key: this paste once kept the program busy for 22 s.
    await tmux.paste("client", "z".repeat(8000));
    const since = performance.now();
    if (how === "Ctrl+C") await tmux.keys("client", "C-c");
    else Deno.kill(pid, "SIGTERM");
    await assertEndsInTime(tmux, pid, since, how);
  });
}

terminalTest("SIGTERM ends the program in time while the peer floods the chat window", async () => {
  await using tmux = new Tmux();
  using peer = await clientInTerminal(tmux);
  const pid = await programPid(tmux, "client");
  const lines = new TextEncoder().encode(("x".repeat(999) + "\n").repeat(64));
  let flooding = true;
  const flood = (async () => {
    for (let i = 0; i < 100_000 && flooding; i++) await writeAll(peer, lines);
  })().catch(() => {});
  await tmux.waitFor("client", /xxxxxxxxxx/);
  // Let the flood run until the client is well behind it: each run of lines takes the terminal a
  // while to show, and a mebibyte not yet read (a thousand lines of 999 characters) is many runs.
  await waitFor(async () => (await tcpBacklog(portsOf(peer))).toThem >= 1024 * 1024, {
    what: "the client to fall a mebibyte behind the flood",
  });
  const since = performance.now();
  Deno.kill(pid, "SIGTERM");
  try {
    await assertEndsInTime(tmux, pid, since, "SIGTERM");
  } finally {
    flooding = false;
    peer.close();
    await flood;
  }
});
