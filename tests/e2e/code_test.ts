/**
 * `--code` with the real programs over loopback: a private session that both
 * sides see as such, with the same check words; wrong codes, a code that is
 * replaced after failed tries, plain peers meeting a code server and the
 * reverse, the agreement on the mode, delivery receipts, the secure
 * session's half-close, the secret file as a password, and bad command
 * lines.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { pakeServerSide } from "../../lib/security/secure_handshake.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { secretFile } from "../support/certs.ts";
import {
  assertExits,
  hasStackTrace,
  type RunningProgram,
  spawnProgram,
  startServer,
  WAIT_MS,
} from "../support/process.ts";

const encoder = new TextEncoder();

/** A code given beforehand, as two people may agree on one. */
const AGREED = "7-anvil-orbit-meadow";

/** The end of the `connected` lines of a private session; group 1 is the check words. */
const PRIVATE = /\(private, check: ([a-z]+-[a-z]+)\)$/;

/** The code in a server's `connect with:` line, searching from line `from`; and that line's index. */
async function connectCode(server: RunningProgram, from = 0): Promise<{ code: string; index: number }> {
  const { match, index } = await server.stderr.waitFor(/^connect with: .* --code (\S+) 127\.0\.0\.1 \d+$/, from);
  return { code: match[1], index };
}

/** The check words a program printed in its `connected` line. */
async function checkWords(program: RunningProgram): Promise<string> {
  const { match } = await program.stderr.waitFor(/^connected.*\(private, check: ([a-z]+-[a-z]+)\)$/);
  return match[1];
}

/** `promise`, or an error once `ms` have passed (calling `onTimeout` first). */
async function within<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes `conn` unless it is closed already. */
function closeConn(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Reads what is left on `conn` until its end, for at most `ms` (so that closing it sends no reset). */
async function drain(conn: Deno.Conn, ms = WAIT_MS): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  await within(
    (async () => {
      while ((await conn.read(buffer)) !== null);
    })(),
    ms,
    "the connection to end",
    () => closeConn(conn),
  );
}

/** A right-code client connects to `port`, says one line that the server shows, and leaves; the server stays. */
async function rightClientWorks(server: RunningProgram, port: number, code: string, line: string): Promise<void> {
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--code", code]);
  await client.stderr.waitFor(PRIVATE);
  await client.write(`${line}\n`);
  await server.stdout.waitFor(new RegExp(`^${line}$`));
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  await client.stdout.waitFor(/^ok$/);
  await client.closeStdin();
  await assertExits(client, 0, /^end of input: left 127\.0\.0\.1:\d+$/);
}

// 1. The right code.

Deno.test("--code, alternating: the right code gives a private conversation both ways, with the same check words", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--code"]);
  await using _server = server;
  const { code } = await connectCode(server);
  assert.match(code, /^\d{1,2}(-[a-z]+){3}$/);
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--code", code]);
  const [serverCheck, clientCheck] = await Promise.all([checkWords(server), checkWords(client)]);
  assert.equal(clientCheck, serverCheck);
  await server.stderr.waitFor(/^connected: 127\.0\.0\.1:\d+ \(private, check: [a-z]+-[a-z]+\)$/);
  await client.stderr.waitFor(new RegExp(`^connected to 127\\.0\\.0\\.1:${port} \\(private, check: [a-z]+-[a-z]+\\)$`));
  for (const n of [1, 2]) {
    await client.write(`question ${n}\n`);
    await server.stdout.waitFor(new RegExp(`^question ${n}$`));
    await server.write(`answer ${n}\n`);
    await client.stdout.waitFor(new RegExp(`^answer ${n}$`));
  }
  await client.closeStdin();
  await assertExits(client, 0, new RegExp(`^end of input: left 127\\.0\\.0\\.1:${port}$`));
  await assertExits(server, 0, /^127\.0\.0\.1:\d+ left$/);
  assert.deepEqual(server.stdout.lines, ["question 1", "question 2"]);
  assert.deepEqual(client.stdout.lines, ["answer 1", "answer 2"]);
  // Every line was confirmed: nothing says otherwise.
  assert.doesNotMatch(client.stderr.text + server.stderr.text, /not confirmed/);
});

Deno.test("--code, duplex: the right code gives a private conversation both ways, with the same check words", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex", `--code=${AGREED}`]);
  await using _server = server;
  const { code } = await connectCode(server);
  assert.equal(code, AGREED);
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--code", AGREED]);
  assert.equal(await checkWords(client), await checkWords(server));
  // No turns: each side says two lines in a row.
  await client.write("c 1\nc 2\n");
  await server.stdout.waitFor(/^c 2$/);
  await server.write("s 1\ns 2\n");
  await client.stdout.waitFor(/^s 2$/);
  await client.write("c 3\n");
  await server.stdout.waitFor(/^c 3$/);
  await client.closeStdin();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  await server.closeStdin();
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  assert.deepEqual(server.stdout.lines, ["c 1", "c 2", "c 3"]);
  assert.deepEqual(client.stdout.lines, ["s 1", "s 2"]);
  const stderr = client.stderr.text + server.stderr.text;
  assert.ok(!hasStackTrace(stderr), stderr);
  assert.doesNotMatch(stderr, /not confirmed/);
});

Deno.test("--code, duplex: both sides send at once and finish at once: every line arrives and is confirmed, exit 0 on both sides", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex", `--code=${AGREED}`]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--code", AGREED]);
  assert.equal(await checkWords(client), await checkWords(server));
  const fromClient = Array.from({ length: 200 }, (_, i) => `c ${i}`);
  const fromServer = Array.from({ length: 300 }, (_, i) => `s ${i}`);
  await Promise.all([
    (async () => {
      await client.write(fromClient.join("\n") + "\n");
      await client.closeStdin();
    })(),
    (async () => {
      await server.write(fromServer.join("\n") + "\n");
      await server.closeStdin();
    })(),
  ]);
  const [clientStatus, serverStatus] = [await client.exit(), await server.exit()];
  // Every line arrived, whatever the exit codes say.
  assert.deepEqual(server.stdout.lines, fromClient);
  assert.deepEqual(client.stdout.lines, fromServer);
  const stderr = `client:\n${client.stderr.text}\nserver:\n${server.stderr.text}`;
  assert.ok(!hasStackTrace(stderr), stderr);
  assert.doesNotMatch(stderr, /not confirmed/);
  assert.equal(clientStatus.code, 0, stderr);
  assert.equal(serverStatus.code, 0, stderr);
});

// 2. A wrong code.

Deno.test("--code: a wrong code is one line and exit 1 for the client; the server logs its address and keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", `--code=${AGREED}`]);
  await using _server = server;
  await using wrong = spawnProgram("client", ["127.0.0.1", String(port), "--code", "7-anvil-orbit-meadows"]);
  await assertExits(wrong, 1, /^client: .*code did not match/);
  assert.equal(wrong.stderr.lines.length, 1, wrong.stderr.text);
  assert.deepEqual(wrong.stdout.lines, []);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ gave a code that did not match$/);
  // Not a session: the server (without -k) still waits, and the right code works.
  await using right = spawnProgram("client", ["127.0.0.1", String(port), "--code", AGREED]);
  await right.write("the right one\n");
  await server.stdout.waitFor(/^the right one$/);
  await server.write("ok\n");
  await right.stdout.waitFor(/^ok$/);
  await right.closeStdin();
  await assertExits(right, 0, /^end of input: left 127\.0\.0\.1:\d+$/);
  await assertExits(server, 0, /^127\.0\.0\.1:\d+ left$/);
  assert.deepEqual(server.stdout.lines, ["the right one"]);
});

// 3. A code that failed too often is replaced.

Deno.test("--code: after 3 failed tries the server replaces the code and says so; the old code then fails, the new one works", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--code"]);
  await using _server = server;
  const first = await connectCode(server);
  for (let i = 0; i < 3; i++) {
    await using wrong = spawnProgram("client", ["127.0.0.1", String(port), "--code", `${i}-wrong-guess-here`]);
    await assertExits(wrong, 1, /^client: .*code did not match/);
  }
  const { index: replacedAt } = await server.stderr.waitFor(
    /^3 tries with the code failed \(a typo, or someone guessing\): it is replaced$/,
    first.index + 1,
  );
  const second = await connectCode(server, replacedAt + 1);
  assert.notEqual(second.code, first.code);
  await using old = spawnProgram("client", ["127.0.0.1", String(port), "--code", first.code]);
  await assertExits(old, 1, /^client: .*code did not match/);
  await rightClientWorks(server, port, second.code, "with the new code");
  await assertExits(server, 0, /^127\.0\.0\.1:\d+ left$/);
});

// 4. A plain client meets a code server.

/** Connects a raw socket, sends `first` (if any), and returns the first line the server says, within `ms`. */
async function rawFirstLine(port: number, first: string | undefined, ms: number): Promise<string | null> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (first !== undefined) await writeAll(conn, encoder.encode(first));
  const reader = new LineReader(conn, { maxLineBytes: 4096 });
  const line = await within(reader.readLine(), ms, "the server's line", () => closeConn(conn));
  await drain(conn);
  return line;
}

Deno.test("--code: a plain client that says hello gets one line starting with error: that asks for --code; the server keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", `--code=${AGREED}`]);
  await using _server = server;
  const line = await rawFirstLine(port, "hello\n", WAIT_MS);
  assert.match(line ?? "", /^error: .*--code/);
  await rightClientWorks(server, port, AGREED, "after the plain client");
  await assertExits(server, 0, /^127\.0\.0\.1:\d+ left$/);
});

Deno.test("--code: a plain client that says nothing is told within about 3 s that a code is needed; the server keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", `--code=${AGREED}`]);
  await using _server = server;
  const started = performance.now();
  const line = await rawFirstLine(port, undefined, 6_000);
  const tookMs = performance.now() - started;
  assert.match(line ?? "", /^error: .*--code/);
  assert.ok(tookMs < 5_000, `told after ${tookMs} ms`);
  await rightClientWorks(server, port, AGREED, "after the silent client");
  await assertExits(server, 0, /^127\.0\.0\.1:\d+ left$/);
});

// 5. A code client meets a plain peer.

Deno.test("client --code against a plain parley server: one line saying the server uses no code, exit 1", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--code", AGREED]);
  await assertExits(client, 1, /^client: .*uses no code/);
  assert.equal(client.stderr.lines.length, 1, client.stderr.text);
  assert.deepEqual(client.stdout.lines, []);
});

Deno.test("client --code against a TCP peer that answers hi: one line saying it does not speak the secure handshake, exit 1", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port), "--code", AGREED]);
  const conn = await within(listener.accept(), WAIT_MS, "the client to connect");
  try {
    const reader = new LineReader(conn, { maxLineBytes: 4096 });
    const hello = await within(reader.readLine(), WAIT_MS, "the client's first line", () => closeConn(conn));
    assert.match(hello ?? "", /^parley-pake 1 alternating /);
    await writeAll(conn, encoder.encode("hi\n"));
    await assertExits(client, 1, /^client: .*does not speak parley's secure handshake.*"hi"/);
    assert.equal(client.stderr.lines.length, 1, client.stderr.text);
    await drain(conn);
  } finally {
    closeConn(conn);
  }
});

Deno.test("client --code against a TCP peer that says nothing gives up after --handshake-timeout, in one line", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const started = performance.now();
  await using client = spawnProgram("client", [
    "127.0.0.1",
    String(listener.addr.port),
    "--code",
    AGREED,
    "--handshake-timeout",
    "1s",
  ]);
  const conn = await within(listener.accept(), WAIT_MS, "the client to connect");
  try {
    await assertExits(client, 1, /^client: Handshake with 127\.0\.0\.1:\d+ timed out/);
    const tookMs = performance.now() - started;
    assert.equal(client.stderr.lines.length, 1, client.stderr.text);
    assert.ok(tookMs < 8_000, `gave up after ${tookMs} ms`);
    await drain(conn);
  } finally {
    closeConn(conn);
  }
});

// 6. The two sides agree on the mode.

Deno.test("--code: an alternating client of a duplex server is told, and the session is duplex (two lines in a row arrive)", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex", `--code=${AGREED}`]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--code", AGREED]);
  await client.stderr.waitFor(/^the server uses duplex/);
  await client.write("first\n");
  await client.write("second, without waiting for a reply\n");
  await server.stdout.waitFor(/^second, without waiting for a reply$/);
  await server.write("reply\n");
  await client.stdout.waitFor(/^reply$/);
  await client.closeStdin();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  await server.closeStdin();
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  assert.deepEqual(server.stdout.lines, ["first", "second, without waiting for a reply"]);
  assert.ok(!hasStackTrace(client.stderr.text + server.stderr.text));
});

Deno.test("--code: an alternating server logs that a client asked for duplex, and the session is alternating", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", `--code=${AGREED}`]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--code", AGREED]);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ asked for duplex/);
  await client.stderr.waitFor(/^the server uses alternating/);
  await client.write("question\n");
  await server.stdout.waitFor(/^question$/);
  await server.write("answer\n");
  await client.stdout.waitFor(/^answer$/);
  await client.closeStdin();
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  assert.equal((await server.exit()).code, 0, server.stderr.text);
});

// 7. Receipts.

Deno.test('--code, piped: a session whose peer took every line ends with exit 0 and nothing "not confirmed"', async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex", `--code=${AGREED}`]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--code", AGREED]);
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
  await client.write(lines.join("\n") + "\n");
  await client.closeStdin();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  await server.stdout.waitForCount(lines.length);
  await server.closeStdin();
  await assertExits(client, 0, /^127\.0\.0\.1:\d+ finished sending$|left/);
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  assert.deepEqual(server.stdout.lines, lines);
  assert.doesNotMatch(client.stderr.text + server.stderr.text, /not confirmed/);
});

Deno.test("--code: lines the peer never confirmed are counted when it leaves: N lines not confirmed, exit 1", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port), "--code", AGREED]);
  const conn = await within(listener.accept(), WAIT_MS, "the client to connect");
  try {
    // A hostile server: it proves the code, then reads nothing, acknowledges nothing, and leaves.
    const session = await within(
      pakeServerSide(conn, conn, {
        password: encoder.encode(AGREED),
        mode: "duplex",
        peerName: "the client",
      }),
      WAIT_MS,
      "the handshake",
      () => closeConn(conn),
    );
    await client.stderr.waitFor(/^the server uses duplex/);
    await client.write("one\ntwo\nthree\n");
    await client.closeStdin();
    await client.stderr.waitFor(/^end of input: everything sent/);
    await session.channel.leave();
    await assertExits(client, 1, /^client: 127\.0\.0\.1:\d+ left; 3 lines not confirmed$/);
    await drain(conn);
  } finally {
    closeConn(conn);
  }
});

// 8. The secure session's half-close.

Deno.test("--code, duplex: a client that finished sending still receives; then both leave with exit 0", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex", `--code=${AGREED}`]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--code", AGREED]);
  await client.write("my last words\n");
  await client.closeStdin();
  await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
  await server.stdout.waitFor(/^my last words$/);
  await server.write("still there?\n");
  await client.stdout.waitFor(/^still there\?$/);
  await server.write("and again, after a while\n");
  await client.stdout.waitFor(/^and again, after a while$/);
  await server.closeStdin();
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  assert.deepEqual(client.stdout.lines, ["still there?", "and again, after a while"]);
  const stderr = client.stderr.text + server.stderr.text;
  assert.ok(!hasStackTrace(stderr), stderr);
  assert.doesNotMatch(stderr, /not confirmed/);
});

Deno.test("--code, duplex -k: a client that left after it finished sending does not hold the server; the next client is served", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--duplex", "-k", `--code=${AGREED}`]);
  await using _server = server;
  {
    await using first = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--code", AGREED]);
    await first.write("first client\n");
    await first.closeStdin();
    await server.stderr.waitFor(/^127\.0\.0\.1 finished sending$/);
    // Ctrl+C: the client leaves, and says so.
    first.child.kill("SIGTERM");
    assert.equal((await first.exit()).code, 0, first.stderr.text);
  }
  const { index } = await server.stderr.waitFor(/^127\.0\.0\.1:\d+ left$/);
  await server.stderr.waitFor(/^waiting for the next client/, index);
  await using second = spawnProgram("client", ["127.0.0.1", String(port), "--duplex", "--code", AGREED]);
  await second.write("second client\n");
  await server.stdout.waitFor(/^second client$/);
  await server.write("hello, second\n");
  await second.stdout.waitFor(/^hello, second$/);
  assert.ok(!hasStackTrace(server.stderr.text), server.stderr.text);
});

// 9. The secret file as the password.

Deno.test("--secret-file: the same file on both sides gives a private session with the same check words", async () => {
  const file = secretFile("correct horse battery staple");
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", file]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", file]);
  assert.equal(await checkWords(client), await checkWords(server));
  await client.write("secret hello\n");
  await server.stdout.waitFor(/^secret hello$/);
  await server.write("secret reply\n");
  await client.stdout.waitFor(/^secret reply$/);
  await client.closeStdin();
  await assertExits(client, 0, /^end of input: left 127\.0\.0\.1:\d+$/);
  await assertExits(server, 0, /^127\.0\.0\.1:\d+ left$/);
});

Deno.test("--secret-file: different files do not match: one line, exit 1", async () => {
  const { server, port } = await startServer([
    "127.0.0.1",
    "0",
    "--secret-file",
    secretFile("correct horse battery staple"),
  ]);
  await using _server = server;
  await using client = spawnProgram("client", [
    "127.0.0.1",
    String(port),
    "--secret-file",
    secretFile("incorrect horse"),
  ]);
  await assertExits(client, 1, /^client: .*did not match/);
  assert.equal(client.stderr.lines.length, 1, client.stderr.text);
  await server.stderr.waitFor(/127\.0\.0\.1:\d+.*did not match/);
});

// 10. Bad command lines.

Deno.test("--code with --secret-file is a usage error: exit 2, one line, on either side", async () => {
  const file = secretFile("correct horse battery staple");
  for (
    const [name, args] of [
      ["server", ["127.0.0.1", "0", `--code=${AGREED}`, "--secret-file", file]],
      ["server", ["127.0.0.1", "0", "--secret-file", file, "--code"]],
      ["client", ["127.0.0.1", "4747", "--code", AGREED, "--secret-file", file]],
    ] as const
  ) {
    await using program = spawnProgram(name, [...args]);
    await program.closeStdin();
    await assertExits(program, 2, /--code and --secret-file/);
    assert.equal(program.stderr.lines.length, 1, `${name} ${args.join(" ")}:\n${program.stderr.text}`);
  }
});

Deno.test("a malformed --code is a usage error: exit 2, one clean line, no raw control characters", async () => {
  for (
    const [name, args] of [
      ["client", ["127.0.0.1", "4747", "--code", "a b!"]],
      ["client", ["127.0.0.1", "4747", "--code", ""]],
      ["client", ["127.0.0.1", "4747", "--code", "\x1b[2J"]],
      ["client", ["127.0.0.1", "4747", "--code", "7-anvil\n-orbit"]],
      ["server", ["127.0.0.1", "0", "--code=a b!"]],
      ["server", ["127.0.0.1", "0", "--code=\x1b[2J"]],
    ] as const
  ) {
    await using program = spawnProgram(name, [...args]);
    await program.closeStdin();
    const what = `${name} ${JSON.stringify(args)}`;
    await assertExits(program, 2, /code/i);
    assert.equal(program.stderr.lines.length, 1, `${what}:\n${program.stderr.text}`);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(program.stderr.text, /[\x00-\x08\x0b-\x1f\x7f]/, what);
  }
});
