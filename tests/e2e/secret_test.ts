/**
 * The shared secret with the real programs: the secure session (CPace, then
 * encrypted records) with the file's bytes or PARLEY_SECRET as the password —
 * right, wrong, missing on either side, and slowing down repeated failures.
 */

import {
  CODE_MISMATCH_LINE,
  CODE_SILENCE_MS,
  MAX_PAKE_LINE_BYTES,
  NEEDS_CODE_LINE,
  PAKE_SERVER_AD,
} from "../../lib/wire/protocol.ts";
import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { deriveSessionKeys, verifyConfirmation } from "../../lib/security/session_keys.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { secretFile } from "../support/certs.ts";
import { startPake } from "../support/pake.ts";
import { assertExits, ROOT, spawnCommand, spawnProgram, startServer } from "../support/process.ts";

const encoder = new TextEncoder();

const RIGHT = secretFile("correct horse battery staple");
const WRONG = secretFile("incorrect horse");

Deno.test("with the same secret on both sides they verify each other, agree on the check words, and chat", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await server.stderr.waitFor(new RegExp(`^connect with: .* --secret-file ${RIGHT} 127\\.0\\.0\\.1 \\d+$`));
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", RIGHT]);
  const clientSaw = await client.stderr.waitFor(/^connected to 127\.0\.0\.1:\d+ \(private, check: (\S+)\)$/);
  const serverSaw = await server.stderr.waitFor(/^connected: 127\.0\.0\.1:\d+ \(private, check: (\S+)\)$/);
  // Both sides derived the same keys: the words they show to compare are the same.
  assert.equal(clientSaw.match[1], serverSaw.match[1]);
  await client.write("authenticated hello\n");
  await server.stdout.waitFor(/^authenticated hello$/);
  await client.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  await client.stdout.waitFor(/^ok$/);
  assert.equal((await client.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
  assert.deepEqual(server.stdout.lines, ["authenticated hello"]);
});

Deno.test("the secret may come from PARLEY_SECRET, on either side", async () => {
  const env = { PARLEY_SECRET: "correct horse battery staple" };
  const { server, port } = await startServer(["127.0.0.1", "0"], { env });
  await using _server = server;
  await server.stderr.waitFor(/^connect with: PARLEY_SECRET=… .*--allow-env=PARLEY_SECRET/);
  // The server's secret from the variable, the client's from the file.
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", RIGHT]);
  await client.stderr.waitFor(/^connected to 127\.0\.0\.1:\d+ \(private, check: \S+\)$/);
  await client.closeStdin();
  assert.equal((await client.exit()).code, 0);
  // The client's from the variable, the server's from the file.
  const other = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _other = other.server;
  await using fromEnv = spawnProgram("client", ["127.0.0.1", String(other.port)], { env });
  await fromEnv.stderr.waitFor(/^connected to 127\.0\.0\.1:\d+ \(private, check: \S+\)$/);
  await other.server.stderr.waitFor(/^connected: 127\.0\.0\.1:\d+ \(private, check: \S+\)$/);
  await fromEnv.closeStdin();
  assert.equal((await fromEnv.exit()).code, 0);
});

Deno.test("a wrong secret fails on both sides with one line; the server keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await using wrong = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", WRONG]);
  await wrong.write("never shown\n");
  await assertExits(
    wrong,
    1,
    `client: the secret did not match: 127.0.0.1:${port} has another (or someone is in between)`,
  );
  assert.equal(wrong.stderr.lines.length, 1, wrong.stderr.text);
  assert.deepEqual(wrong.stdout.lines, []);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ gave a secret that did not match$/);
  // Without -k, the server still waits: a failed handshake is not a session.
  await using right = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", RIGHT]);
  await right.write("the right one\n");
  await server.stdout.waitFor(/^the right one$/);
  await right.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await right.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
  // Nothing of the wrong client's reached the server's screen.
  assert.deepEqual(server.stdout.lines, ["the right one"]);
});

Deno.test("a client without the secret that speaks first is told at once that the server needs one", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await client.stderr.waitFor(/^connected to /);
  const started = performance.now();
  await client.write("hello?\n");
  await assertExits(
    client,
    1,
    `client: 127.0.0.1:${port} needs a code: connect with --code CODE ` +
      "(or the same secret, with --secret-file or PARLEY_SECRET)",
  );
  // At its first line, not after the silence that tells a client that says nothing.
  const took = performance.now() - started;
  assert.ok(took < CODE_SILENCE_MS, `told after ${took} ms`);
  assert.deepEqual(client.stdout.lines, []);
  await server.stderr.waitFor(
    /^127\.0\.0\.1:\d+ does not use a code \(it sent "hello\?"\): told it a code is needed$/,
  );
  assert.deepEqual(server.stdout.lines, []);
});

Deno.test("a client without the secret that says nothing is told after a silence that the server needs one", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await client.stderr.waitFor(/^connected to /);
  const started = performance.now();
  await assertExits(
    client,
    1,
    `client: 127.0.0.1:${port} needs a code: connect with --code CODE ` +
      "(or the same secret, with --secret-file or PARLEY_SECRET)",
  );
  const took = performance.now() - started;
  assert.ok(took >= CODE_SILENCE_MS - 500, `told after ${took} ms`);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ did not start the secure handshake: told it a code is needed$/);
});

Deno.test("a client with a secret facing a server without one is told so at once", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", [
    "127.0.0.1",
    String(port),
    "--secret-file",
    RIGHT,
    "--handshake-timeout",
    "5",
  ]);
  const started = performance.now();
  await assertExits(
    client,
    1,
    `client: 127.0.0.1:${port} uses no code and no secret: connect without --code (or --secret-file)`,
  );
  // Not by running out of the handshake's time.
  const took = performance.now() - started;
  assert.ok(took < 4000, `told after ${took} ms`);
  assert.equal(client.stderr.lines.length, 1, client.stderr.text);
  await server.stderr.waitFor(
    /^127\.0\.0\.1:\d+ has a code, but this server has none: told it to connect without one$/,
  );
  assert.deepEqual(server.stdout.lines, []);
});

Deno.test("repeated failures from one address are slowed down, before the answer; a client without a code is not", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT, "-k"]);
  await using _server = server;
  /**
   * Runs the handshake as a guesser does, with a wrong password: sends its
   * share, and times the server's answer (whose tag tells whether the guess
   * was right); finds the guess wrong, says so, and is closed.
   */
  const attempt = async () => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const reader = new LineReader(conn, { maxLineBytes: MAX_PAKE_LINE_BYTES });
    const { sid, run, line } = startPake("a wrong guess");
    const started = performance.now();
    await writeAll(conn, encoder.encode(line));
    const answer = await reader.readLine();
    const answerMs = performance.now() - started;
    const fields = /^parley-pake 1 alternating ([A-Za-z0-9_-]{43}) ([A-Za-z0-9_-]{86})$/.exec(answer ?? "");
    assert.ok(fields !== null, `the answer: ${JSON.stringify(answer)}`);
    const share = Uint8Array.fromBase64(fields[1], { alphabet: "base64url" });
    const tag = Uint8Array.fromBase64(fields[2], { alphabet: "base64url" });
    const result = run.finish({ share, ad: encoder.encode(PAKE_SERVER_AD + "alternating") });
    const keys = await deriveSessionKeys(result.isk, sid);
    // The server's tag does not hold for our keys: the guess was wrong.
    assert.equal(await verifyConfirmation(keys, result.responder, tag), false);
    await writeAll(conn, encoder.encode(CODE_MISMATCH_LINE + "\n"));
    assert.equal(await reader.readLine(), null);
    return answerMs;
  };
  const times = [];
  for (let i = 0; i < 4; i++) times.push(await attempt());
  // 250 ms after the first failure, doubling: at least 1 s before the fourth answer.
  assert.ok(times[3] >= 900, `the fourth answer came after ${times[3]} ms`);
  assert.ok(times[3] > times[0]);
  assert.ok(times[0] < 500, `the first answer came after ${times[0]} ms`);
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ gave a secret that did not match$/, 0);
  // A client without a code, from the same address, still learns at once that one is needed.
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const reader = new LineReader(conn, { maxLineBytes: MAX_PAKE_LINE_BYTES });
    const started = performance.now();
    await writeAll(conn, encoder.encode("hello\n"));
    assert.equal(await reader.readLine(), NEEDS_CODE_LINE);
    const took = performance.now() - started;
    assert.ok(took < 500, `told after ${took} ms`);
    assert.equal(await reader.readLine(), null);
  }
});

Deno.test("secret files are checked: missing or empty, and an empty PARLEY_SECRET", async () => {
  const empty = await Deno.makeTempFile({ prefix: "parley-empty-" });
  try {
    const cases: [string[], RegExp][] = [
      [["--secret-file", "/no/such/secret"], /^server: Cannot read --secret-file \/no\/such\/secret: no such file$/],
      [["--secret-file", empty], /^server: Cannot use --secret-file .*: it is empty$/],
    ];
    for (const [args, message] of cases) {
      await using server = spawnProgram("server", ["127.0.0.1", "0", ...args]);
      await assertExits(server, 1, message);
    }
    await using blank = spawnProgram("server", ["127.0.0.1", "0"], { env: { PARLEY_SECRET: "" } });
    await assertExits(blank, 1, /^server: Cannot use PARLEY_SECRET: it is empty$/);
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("a client that may not read PARLEY_SECRET says so when the server needs a secret", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  // Network only, as `deno run -N client.ts` runs: the variable is set but unseen.
  await using client = spawnCommand(
    [Deno.execPath(), "run", "-N", "--no-prompt", `${ROOT}client.ts`, "127.0.0.1", String(port)],
    { env: { PARLEY_SECRET: "correct horse battery staple" } },
  );
  await client.write("hello\n");
  await client.closeStdin();
  await assertExits(
    client,
    1,
    `client: 127.0.0.1:${port} needs a code: connect with --code CODE ` +
      "(or the same secret, with --secret-file or PARLEY_SECRET) " +
      "(PARLEY_SECRET, if set, is not read without --allow-env=PARLEY_SECRET)",
  );
  assert.deepEqual(client.stdout.lines, []);
});
