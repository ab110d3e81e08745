/**
 * The server and the client as real subprocesses, holding conversations.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { hasStackTrace, type RunningProgram, spawnCommand, spawnProgram, startServer } from "../support/process.ts";
import { LOOPBACKS } from "../support/net.ts";
import { quietFor } from "../support/wait.ts";

const encoder = new TextEncoder();

function assertClean(program: RunningProgram): void {
  assert.ok(!hasStackTrace(program.stderr.text), program.stderr.text);
}

for (const hostname of LOOPBACKS) {
  Deno.test(`server on every interface and client over ${hostname} hold a conversation`, async () => {
    const { server, port } = await startServer(["0"]);
    await using _server = server;
    await using client = spawnProgram("client", [hostname, String(port)]);
    await server.stderr.waitFor(/^connected: /);
    await client.write("hello from the client\n");
    await server.stdout.waitFor(/^hello from the client$/);
    await server.write("hello from the server\n");
    await client.stdout.waitFor(/^hello from the server$/);
    await client.write("ünïcödé ✓ and\ta tab\n");
    await server.stdout.waitFor(/^ünïcödé ✓ and\ta tab$/);
    await client.closeStdin();
    // The client waits for the reply to its last line before it leaves.
    await server.write("a reply\n");

    assert.equal((await client.exit()).code, 0);
    assert.equal((await server.exit()).code, 0);
    assert.deepEqual(server.stdout.lines, ["hello from the client", "ünïcödé ✓ and\ta tab"]);
    assert.deepEqual(client.stdout.lines, ["hello from the server", "a reply"]);
    await client.stderr.waitFor(/^end of input: left /);
    await server.stderr.waitFor(/ left$/);
    assertClean(client);
    assertClean(server);
  });
}

Deno.test("server prints where it listens and a client command that works", async () => {
  const { server, port } = await startServer(["--port", "0"]);
  await using _server = server;
  assert.match(server.stderr.lines[0], new RegExp(`^listening on \\[::\\]:${port}( and 0\\.0\\.0\\.0:${port})?$`));
  const { match } = await server.stderr.waitFor(/^connect with: deno run -N (\S+) (\S+) (\d+)$/);
  assert.deepEqual([match[2], match[3]], ["localhost", String(port)]);
  // Run exactly the printed command, with this deno.
  await using printed = spawnCommand([Deno.execPath(), "run", "-N", match[1], match[2], match[3]]);
  await printed.write("via the printed command\n");
  await server.stdout.waitFor(/^via the printed command$/);
  await printed.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await printed.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
});

Deno.test("a server on every interface says how another machine reaches it: its addresses, or where to look", async () => {
  // With the programs' permissions: the addresses other machines can use, none of them loopback or link-local.
  const { server } = await startServer(["--port", "0"]);
  await using _server = server;
  const { match } = await server.stderr.waitFor(/^from another machine: (.*)$/);
  const listed = /^put one of this machine's addresses for localhost: (.+)$/.exec(match[1]);
  if (listed === null) assert.equal(match[1], "none can reach this one (it has loopback addresses only)");
  const addresses = listed?.[1].split(", ") ?? [];
  const expected = Deno.networkInterfaces().map((face) => face.address)
    .filter((address) => !/^(127\.|::1$|fe80:)/.test(address));
  assert.deepEqual(addresses.toSorted(), [...new Set(expected)].toSorted());
  // With -N alone, where to look.
  await using bare = spawnCommand([Deno.execPath(), "run", "-N", "--no-prompt", "server.ts", "--port", "0"]);
  await bare.stderr.waitFor(/^from another machine: put this machine's address for localhost \(`ip addr` or /);
  // Bound to one address, the hint names it already: nothing more is said.
  const one = await startServer(["127.0.0.1", "0"]);
  await using _one = one.server;
  await one.server.stderr.waitFor(/^note: /);
  assert.ok(!one.server.stderr.text.includes("from another machine"), one.server.stderr.text);
});

Deno.test("client accepts the [::1]:PORT form", async () => {
  const { server, port } = await startServer(["::1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", [`[::1]:${port}`]);
  await client.write("bracketed\n");
  await server.stdout.waitFor(/^bracketed$/);
  await client.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await client.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
});

Deno.test("a second client is told the server is busy; the session goes on", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using first = spawnProgram("client", ["127.0.0.1", String(port)]);
  await first.write("first\n");
  await server.stdout.waitFor(/^first$/);

  await using second = spawnProgram("client", ["127.0.0.1", String(port)]);
  assert.equal((await second.exit()).code, 1);
  // Turned away before any chat: stdout stays empty.
  assert.deepEqual(second.stdout.lines, []);
  assert.equal(second.stderr.lines.at(-1), `client: 127.0.0.1:${port} is busy with another session; try again later`);
  assertClean(second);

  await server.write("still talking\n");
  await first.stdout.waitFor(/^still talking$/);
  await first.closeStdin();
  assert.equal((await first.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
  assert.deepEqual(server.stdout.lines, ["first"]);
  // The running session did not notice the second client.
  assert.equal(server.stderr.lines.filter((line) => line.startsWith("connected: ")).length, 1);
});

Deno.test("Ctrl+C (SIGINT) on the client leaves cleanly and counts the lines not sent", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  // One write of a few bytes reaches the client's stdin whole (a pipe keeps it in one piece, under
  // PIPE_BUF), and one read takes it all: once the server has "one", the client holds the other two.
  await client.write("one\ntwo\nthree\n");
  await server.stdout.waitFor(/^one$/);
  // The server has not replied, so these two wait in the client's queue.
  client.child.kill("SIGINT");
  assert.equal((await client.exit()).code, 0);
  assert.match(client.stderr.lines.at(-1)!, /^interrupted: left 127\.0\.0\.1:\d+; 2 lines not sent$/);
  assert.equal((await server.exit()).code, 0);
  assert.match(server.stderr.lines.at(-1)!, /^127\.0\.0\.1:\d+ left$/);
  assert.deepEqual(server.stdout.lines, ["one"]);
  assertClean(client);
  assertClean(server);
});

Deno.test("SIGTERM on the server ends the session; the client hears that the server left", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await client.write("are you there?\n");
  await server.stdout.waitFor(/^are you there\?$/);
  server.child.kill("SIGTERM");
  assert.equal((await server.exit()).code, 0);
  assert.equal((await client.exit()).code, 0);
  assert.equal(client.stderr.lines.at(-1), `127.0.0.1:${port} left`);
  assertClean(client);
  assertClean(server);
});

Deno.test("end of input on the server while the client has the turn: it takes the client's line, then leaves", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await server.stderr.waitFor(/^connected: /);
  await server.closeStdin();
  await client.write("one line for you\n");
  assert.equal((await server.exit()).code, 0);
  assert.deepEqual(server.stdout.lines, ["one line for you"]);
  assert.equal((await client.exit()).code, 0);
  assert.match(server.stderr.lines.at(-1)!, /^end of input: left 127\.0\.0\.1:\d+$/);
});

Deno.test("SIGINT on a server that is still waiting for a client exits 0", async () => {
  const { server } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  server.child.kill("SIGINT");
  assert.equal((await server.exit()).code, 0);
  assertClean(server);
});

Deno.test("a question from a script: at end of input the client waits for the reply to its last line", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port)]);
  using conn = await listener.accept();
  await client.write("what time is it?\n");
  await client.closeStdin();
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  assert.equal(await reader.readLine(), "what time is it?");
  // Longer than the linger of a side that leaves (1 s): a client that did not wait would be gone by now.
  await quietFor(1500, "the client must still be there, waiting for the answer, not gone at its end of input");
  await writeAll(conn, new TextEncoder().encode("noon\n")).catch(() => {});
  assert.equal((await client.exit()).code, 0);
  assert.deepEqual(client.stdout.lines, ["noon"]);
  await client.stderr.waitFor(/^end of input: left 127\.0\.0\.1:\d+$/);
  assert.equal(await reader.readLine(), null);
});

Deno.test("--keep-open serves one client after another", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k"]);
  await using _server = server;
  for (const name of ["alice", "bob"]) {
    await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
    await client.write(`I am ${name}\n`);
    await server.stdout.waitFor(new RegExp(`^I am ${name}$`));
    await server.write(`hello ${name}\n`);
    await client.stdout.waitFor(new RegExp(`^hello ${name}$`));
    await client.closeStdin();
    assert.equal((await client.exit()).code, 0);
    await server.stderr.waitFor(/^waiting for the next client/, server.stderr.lines.length - 1);
  }
  server.child.kill("SIGTERM");
  assert.equal((await server.exit()).code, 0);
  assert.deepEqual(server.stdout.lines, ["I am alice", "I am bob"]);
});

Deno.test("a netcat-like peer may send several lines out of turn and a last line without newline", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port)]);
  using conn = await listener.accept();
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  await client.write("question\n");
  assert.equal(await reader.readLine(), "question");
  await writeAll(conn, encoder.encode("answer one\nanswer two\n\x1b]0;evil title\x07\nno newline at the end"));
  await conn.closeWrite();
  assert.equal((await client.exit()).code, 0);
  assert.deepEqual(client.stdout.lines, ["answer one", "answer two", "^[]0;evil title^G", "no newline at the end"]);
});

for (const name of ["server", "client"] as const) {
  Deno.test(`${name} --help and --version print to stdout and exit 0`, async () => {
    await using help = spawnProgram(name, ["--help"]);
    assert.equal((await help.exit()).code, 0);
    assert.match(help.stdout.lines[0], new RegExp(`^parley ${name}: `));
    assert.ok(help.stdout.text.includes("Exit status"));
    await using version = spawnProgram(name, ["-V"]);
    assert.equal((await version.exit()).code, 0);
    assert.match(version.stdout.text, new RegExp(`^${name} \\(parley\\) \\d+\\.\\d+\\.\\d+$`));
  });
}

Deno.test("--keep-open survives a client that breaks the line limit and serves the next", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k", "--max-line", "16"]);
  await using _server = server;
  {
    using rude = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(rude, encoder.encode("x".repeat(100) + "\n"));
    await server.stderr.waitFor(/^server: 127\.0\.0\.1:\d+ sent a line longer than 16 bytes/);
  }
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await client.write("polite\n");
  await server.stdout.waitFor(/^polite$/);
  server.child.kill("SIGINT");
  assert.equal((await server.exit()).code, 0);
  assert.equal((await client.exit()).code, 0);
  assertClean(server);
});
