/**
 * Who may connect, and for how long: --allow and --deny with IPv4, IPv6 and
 * IPv4-mapped addresses, the handshake and idle time limits, and a flood of
 * connection attempts during a secured session.
 */

import assert from "node:assert/strict";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { assertExits, type RunningProgram, spawnProgram, startServer } from "../support/process.ts";

/**
 * Connects a client from `hostname`; returns once it chatted or was refused.
 * Duplex, so that it leaves at the end of its input without a reply.
 */
async function tryClient(hostname: string, port: number): Promise<RunningProgram> {
  const client = spawnProgram("client", [hostname, String(port), "--duplex"]);
  await client.write("may I?\n");
  await client.closeStdin();
  await client.exit();
  return client;
}

Deno.test("--allow with an IPv4 range admits IPv4 clients on a dual-stack server (as ::ffff:a.b.c.d), not ::1", async () => {
  const { server, port } = await startServer(["0", "-k", "--allow", "127.0.0.0/8"]);
  await using _server = server;
  await using v4 = await tryClient("127.0.0.1", port);
  assert.equal((await v4.exit()).code, 0);
  await server.stdout.waitFor(/^may I\?$/);
  await using v6 = await tryClient("::1", port);
  await assertExits(v6, 1, new RegExp(`^client: \\[::1\\]:${port} does not accept connections from this address`));
  await server.stderr.waitFor(/^\[::1\]:\d+ refused: not in --allow$/);
  assert.equal(server.stdout.lines.length, 1);
});

Deno.test("--deny ::1 keeps IPv6 loopback out and lets IPv4 in; IPv4-mapped ranges match IPv4", async () => {
  const { server, port } = await startServer(["0", "-k", "--deny", "::1", "--allow", "::ffff:127.0.0.0/104,::1"]);
  await using _server = server;
  await using v6 = await tryClient("::1", port);
  await assertExits(v6, 1, /does not accept connections from this address \(--allow, --deny\)$/);
  await server.stderr.waitFor(/^\[::1\]:\d+ refused: denied by --deny ::1$/);
  await using v4 = await tryClient("127.0.0.1", port);
  assert.equal((await v4.exit()).code, 0);
  await server.stdout.waitFor(/^may I\?$/);
});

Deno.test("bad --allow and --deny values are usage errors", async () => {
  for (const args of [["--allow", "10.0.0.0/33"], ["--deny", "not-an-ip"], ["--allow", "1.2.3.4,,5.6.7.8/99"]]) {
    await using server = spawnProgram("server", ["127.0.0.1", "0", ...args]);
    await assertExits(server, 2, /^server: Invalid address range ".*": expected an IPv4 or IPv6 address/);
  }
});

Deno.test("a secret server drops a client that does not answer within --handshake-timeout", async () => {
  const secret = await Deno.makeTempFile();
  await Deno.writeTextFile(secret, "s");
  try {
    const { server, port } = await startServer([
      "127.0.0.1",
      "0",
      "--secret-file",
      secret,
      "--handshake-timeout",
      "0.5",
    ]);
    await using _server = server;
    using silent = await Deno.connect({ hostname: "127.0.0.1", port });
    // The client speaks first in the secure handshake; one that says nothing is dropped before the 3 s hint.
    const reader = new LineReader(silent, { maxLineBytes: 512 });
    assert.equal(await reader.readLine(), null);
    await server.stderr.waitFor(/^127\.0\.0\.1:\d+ dropped: no handshake within 0\.5 s \(--handshake-timeout\)$/);
  } finally {
    await Deno.remove(secret);
  }
});

Deno.test("--idle-timeout ends a session in which nothing is said", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--idle-timeout", "500ms"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await client.write("one line, then silence\n");
  await assertExits(
    server,
    1,
    /^server: No message with 127\.0\.0\.1:\d+ for 0\.5 s: closed the connection \(--idle-timeout\)$/,
  );
  assert.equal((await client.exit()).code, 0);
  assert.equal(client.stderr.lines.at(-1), `127.0.0.1:${port} left`);
});

Deno.test("the client's --idle-timeout ends the session too", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--idle-timeout", "0.3"]);
  await assertExits(client, 1, /^client: No message with 127\.0\.0\.1:\d+ for 0\.3 s/);
  assert.equal((await server.exit()).code, 0);
});

Deno.test("hundreds of connection attempts at once do not disturb a secured session", async () => {
  const secret = await Deno.makeTempFile();
  await Deno.writeTextFile(secret, "flood-proof");
  try {
    const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", secret, "--handshake-timeout", "1"]);
    await using _server = server;
    await using client = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", secret]);
    await client.write("before the flood\n");
    await server.stdout.waitFor(/^before the flood$/);
    // 300 connections at once, all left silent: each is turned away or dropped, and closed.
    const flood = await Promise.all(Array.from({ length: 300 }, () => Deno.connect({ hostname: "127.0.0.1", port })));
    try {
      const ends = await Promise.all(flood.map(async (conn) => {
        const reader = new LineReader(conn, { maxLineBytes: 512 });
        const lines: string[] = [];
        try {
          for (let line = await reader.readLine(); line !== null; line = await reader.readLine()) lines.push(line);
        } catch {
          // Closed at once (too many at a time): also fine.
        }
        return lines;
      }));
      assert.ok(ends.every((lines) => lines.length <= 1 && (lines[0] ?? "busy").startsWith("busy")), "busy only");
    } finally {
      for (const conn of flood) conn.close();
    }
    await server.write("after the flood\n");
    await client.stdout.waitFor(/^after the flood$/);
    await client.write("still here\n");
    await server.stdout.waitFor(/^still here$/);
    await client.closeStdin();
    // The client waits for the reply to its last line before it leaves.
    await server.write("bye\n");
    assert.equal((await client.exit()).code, 0);
    assert.equal((await server.exit()).code, 0);
    assert.deepEqual(server.stdout.lines, ["before the flood", "still here"]);
  } finally {
    await Deno.remove(secret);
  }
});
