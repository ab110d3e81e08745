/**
 * The shared secret with the real programs: right, wrong, missing on either
 * side, from a file or the environment, and slowing down repeated failures.
 */

import { AUTH_PREFIX } from "../../lib/wire/protocol.ts";
import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { secretFile } from "../support/certs.ts";
import { assertExits, ROOT, spawnProgram, startServer, WAIT_MS } from "../support/process.ts";

const encoder = new TextEncoder();

const RIGHT = secretFile("correct horse battery staple");
const WRONG = secretFile("incorrect horse");

Deno.test("with the same secret on both sides they verify each other and chat", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await server.stderr.waitFor(new RegExp(`^connect with: .* --secret-file ${RIGHT} 127\\.0\\.0\\.1 \\d+$`));
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", RIGHT]);
  await client.stderr.waitFor(/^connected to 127\.0\.0\.1:\d+ \(secret verified\)$/);
  await server.stderr.waitFor(/^connected: 127\.0\.0\.1:\d+ \(secret verified\)$/);
  await client.write("authenticated hello\n");
  await server.stdout.waitFor(/^authenticated hello$/);
  await client.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await client.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
});

Deno.test("the secret may come from PARLEY_SECRET, on either side", async () => {
  const env = { PARLEY_SECRET: "correct horse battery staple" };
  const { server, port } = await startServer(["127.0.0.1", "0"], { env });
  await using _server = server;
  await server.stderr.waitFor(/^connect with: PARLEY_SECRET=… .*--allow-env=PARLEY_SECRET/);
  await using client = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", RIGHT]);
  await client.stderr.waitFor(/\(secret verified\)$/);
  await client.closeStdin();
  assert.equal((await client.exit()).code, 0);
});

Deno.test("a wrong secret fails on both sides; the server keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await using wrong = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", WRONG]);
  await assertExits(
    wrong,
    1,
    new RegExp(`^client: Authentication with 127\\.0\\.0\\.1:${port} failed: the server does not accept our secret$`),
  );
  await server.stderr.waitFor(/^Authentication failed for 127\.0\.0\.1:\d+: the client does not know the secret$/);
  // Without -k, the server still waits: a failed handshake is not a session.
  await using right = spawnProgram("client", ["127.0.0.1", String(port), "--secret-file", RIGHT]);
  await right.write("the right one\n");
  await server.stdout.waitFor(/^the right one$/);
  await right.closeStdin();
  // The client waits for the reply to its last line before it leaves.
  await server.write("ok\n");
  assert.equal((await right.exit()).code, 0);
  assert.equal((await server.exit()).code, 0);
});

Deno.test("a client without the secret is told at once that the server needs one", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT]);
  await using _server = server;
  await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
  await assertExits(
    client,
    1,
    new RegExp(
      `^client: 127\\.0\\.0\\.1:${port} requires a shared secret: give the same one with --secret-file or PARLEY_SECRET$`,
    ),
  );
  assert.deepEqual(client.stdout.lines, []);
  await server.stderr.waitFor(/^Authentication failed for 127\.0\.0\.1:\d+: the connection closed before/);
});

Deno.test("a client with a secret facing a server without one gives up after the handshake time", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  await using client = spawnProgram("client", [
    "127.0.0.1",
    String(port),
    "--secret-file",
    RIGHT,
    "--handshake-timeout",
    "0.5",
  ]);
  await assertExits(
    client,
    1,
    /^client: Handshake with 127\.0\.0\.1:\d+ timed out \(does it use the same --tls and secret settings\?\)$/,
  );
});

Deno.test("repeated failures from one address are slowed down, after the challenge", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", RIGHT, "-k"]);
  await using _server = server;
  /** Sends a well-formed but wrong answer; returns how long the challenge and the verdict took to come. */
  const attempt = async () => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const reader = new LineReader(conn, { maxLineBytes: 512 });
    const started = performance.now();
    const challenge = await reader.readLine();
    const challengeMs = performance.now() - started;
    assert.match(challenge ?? "", new RegExp(`^${AUTH_PREFIX} challenge `));
    const nonce = btoa(String.fromCharCode(...new Uint8Array(32)));
    const answered = performance.now();
    await writeAll(conn, encoder.encode(`${AUTH_PREFIX} response ${nonce} ${nonce}\n`));
    assert.equal(await reader.readLine(), `${AUTH_PREFIX} failed`);
    return { challengeMs, verdictMs: performance.now() - answered };
  };
  const times = [];
  for (let i = 0; i < 4; i++) times.push(await attempt());
  // 250 ms after the first failure, doubling: at least 1 s before the fourth verdict.
  assert.ok(times[3].verdictMs >= 900, `the fourth verdict came after ${times[3].verdictMs} ms`);
  assert.ok(times[3].verdictMs > times[0].verdictMs);
  // The challenge itself is never held back: a client learns at once that a secret is needed.
  assert.ok(times[3].challengeMs < 500, `the fourth challenge came after ${times[3].challengeMs} ms`);
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
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", "--no-prompt", `${ROOT}client.ts`, "127.0.0.1", String(port)],
    env: { PARLEY_SECRET: "right", NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(WAIT_MS),
  }).output();
  assert.equal(code, 1);
  assert.equal(new TextDecoder().decode(stdout), "");
  assert.deepEqual(new TextDecoder().decode(stderr).trimEnd().split("\n").slice(-1), [
    `client: 127.0.0.1:${port} requires a shared secret: give the same one with --secret-file or PARLEY_SECRET ` +
    "(PARLEY_SECRET, if set, is not read without --allow-env=PARLEY_SECRET)",
  ]);
});
