/**
 * The real programs against a hostile other side, played by a raw TCP peer
 * in the test: servers that break the secret handshake, that send notices
 * or TLS records full of control characters, and, as properties, peers on
 * either side that send random bytes and leave at a random point, cleanly,
 * by a reset, or not at all.
 *
 * Whatever the peer does, the program ends with exit 0 or 1 and at most a
 * few lines on stderr, promptly, without a stack trace; no raw control
 * character reaches its stdout or stderr; the lines it shows are the peer's
 * lines, escaped, in order; and a server with --keep-open still holds a real
 * conversation afterwards.
 */

import { BUSY_PREFIX, MAX_PAKE_LINE_BYTES, PAKE_PREFIX, RATE_LINE } from "../../lib/wire/protocol.ts";
import fc from "fast-check";
import assert from "node:assert/strict";
import type { Channel } from "../../lib/io/types.ts";
import { pakeServerSide, type SecureSession } from "../../lib/security/secure_handshake.ts";
import { assertCleanExit, assertCleanOutput } from "../support/clean.ts";
import { concatBytes, shownLines } from "../support/escaped.ts";
import { spawnProgram, startServer, WAIT_MS } from "../support/process.ts";
import { pause, rawConnect, RawListener, type RawSocket, within } from "../support/raw_peer.ts";
import type { RunningProgram } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

const encoder = new TextEncoder();

/** A secret file for the clients that use one, removed when the tests end. */
const dir = Deno.makeTempDirSync({ prefix: "parley-hostile-server-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const SECRET = "correct horse battery staple";
const secretFile = `${dir}/secret`;
Deno.writeTextFileSync(secretFile, `${SECRET}\n`);

/** The raw peer as a channel, for the secure handshake's server side. */
function channelOf(peer: RawSocket): Channel {
  return {
    read: (p) => peer.read(p),
    write: (p) => peer.write(p),
    close: () => peer.destroy(),
    closeWrite: () => Promise.resolve(peer.end()),
  };
}

/** Plays a real server's side of the secure handshake with the client's secret, on the raw peer. */
async function passHandshake(peer: RawSocket): Promise<SecureSession> {
  return await within(
    pakeServerSide(channelOf(peer), peer, {
      password: encoder.encode(SECRET),
      mode: "alternating",
      peerName: "the client",
    }),
    WAIT_MS,
    "the secure handshake with the client",
  );
}

/** Sends `bytes`, ignoring a failure: the program may have closed the connection already. */
async function sendQuietly(peer: RawSocket, bytes: Uint8Array): Promise<boolean> {
  return await peer.write(bytes).then(() => true, () => false);
}

/** Starts a client of the raw listener; with `secret`, it uses the secret file and a 1 s handshake limit. */
function clientOf(listener: RawListener, secret: boolean, extra: string[] = []): RunningProgram {
  const args = ["127.0.0.1", String(listener.port), ...extra];
  if (secret) args.push("--secret-file", secretFile, "--handshake-timeout", "1");
  return spawnProgram("client", args);
}

// ---------------------------------------------------------------------------
// 5. The client against hostile servers.

Deno.test("a secret client whose server sends a 100,000-byte answer: exit 1, a handshake line too long", async () => {
  await using listener = await RawListener.listen();
  await using client = clientOf(listener, true);
  const peer = await listener.accept();
  // No line end: the client must give up once the line is over the limit, not wait for its end.
  await sendQuietly(peer, encoder.encode(`${PAKE_PREFIX} alternating ${"A".repeat(100_000)}`));
  await assertCleanExit(
    client,
    1,
    `client: 127.0.0.1:${listener.port} sent a handshake line longer than ${MAX_PAKE_LINE_BYTES} bytes`,
  );
  assert.equal(client.stderr.lines.length, 1);
  assert.deepEqual(client.stdout.lines, []);
});

Deno.test("a secret client whose server sends an answer that is not base64: exit 1 with one line", async () => {
  await using listener = await RawListener.listen();
  await using client = clientOf(listener, true);
  const peer = await listener.accept();
  await sendQuietly(peer, encoder.encode(`${PAKE_PREFIX} alternating !!not*base64\x1b]0;PWNED\x07== AAAA\n`));
  await assertCleanExit(client, 1, `client: 127.0.0.1:${listener.port} sent a malformed handshake line`);
  assert.equal(client.stderr.lines.length, 1);
  assert.deepEqual(client.stdout.lines, []);
});

for (
  const [how, leave] of [["closes", (peer: RawSocket) => peer.end()], [
    "resets",
    (peer: RawSocket) => peer.reset(),
  ]] as const
) {
  Deno.test(`a secret client whose server ${how} right after its first line: exit 1 with one line`, async () => {
    await using listener = await RawListener.listen();
    await using client = clientOf(listener, true);
    const peer = await listener.accept();
    // Wait for the client's first line, so that it is waiting for the answer when the server goes.
    await peer.waitForBytes(1);
    leave(peer);
    const target = `127.0.0.1:${listener.port}`;
    await assertCleanExit(
      client,
      1,
      how === "closes"
        ? `client: ${target} closed the connection before answering the code`
        : new RegExp(`^client: Handshake with ${target.replaceAll(".", "\\.")} failed: connection reset by peer$`),
    );
    assert.equal(client.stderr.lines.length, 1);
    assert.deepEqual(client.stdout.lines, []);
  });
}

Deno.test("a plain client told it is busy in a line full of control characters: exit 1, clean output", async () => {
  await using listener = await RawListener.listen();
  await using client = clientOf(listener, false);
  const peer = await listener.accept();
  await sendQuietly(peer, encoder.encode(`${BUSY_PREFIX} \x1b]0;PWNED\x07\x1b[2J\x1b[1;1H\u009b\u202e\x7f\x00\r\n`));
  peer.end();
  await assertCleanExit(client, 1, `client: 127.0.0.1:${listener.port} is busy with another session; try again later`);
  assert.ok(client.stderr.lines.length <= 2, client.stderr.text);
  assert.deepEqual(client.stdout.lines, []);
});

for (const secret of [false, true]) {
  const kind = secret ? "secret" : "plain";
  Deno.test(`a ${kind} client over its address's rate of connections: exit 1, saying so (its line is not lost)`, async () => {
    await using listener = await RawListener.listen();
    await using client = clientOf(listener, secret);
    await client.write("would be lost\n");
    const peer = await listener.accept();
    // What a parley server sends before it closes, to an address that opens connections too fast.
    await sendQuietly(peer, encoder.encode(`${RATE_LINE}\n`));
    peer.end();
    await assertCleanExit(
      client,
      1,
      `client: 127.0.0.1:${listener.port} takes no more connections from this address for now; try again in a few seconds`,
    );
  });
}

/** A fatal alert (level 2), description 40: handshake_failure, as a TLS server sends to a plain client. */
const TLS_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

Deno.test("a plain client that gets a TLS alert record and a close: exit 1, saying the server speaks TLS", async () => {
  await using listener = await RawListener.listen();
  await using client = clientOf(listener, false);
  const peer = await listener.accept();
  await sendQuietly(peer, TLS_ALERT);
  peer.end();
  await assertCleanExit(client, 1, `client: 127.0.0.1:${listener.port} speaks TLS: connect with --tls`);
  assert.ok(client.stderr.lines.length <= 2, client.stderr.text);
  assert.deepEqual(client.stdout.lines, []);
});

Deno.test("a plain client that gets a TLS alert record on a connection left open says so at once", async () => {
  await using listener = await RawListener.listen();
  await using client = clientOf(listener, false);
  const peer = await listener.accept();
  await sendQuietly(peer, TLS_ALERT);
  // Neither a line end nor 64 bytes come, and the connection stays open: the record's first bytes decide.
  await assertCleanExit(client, 1, `client: 127.0.0.1:${listener.port} speaks TLS: connect with --tls`);
  assert.ok(client.stderr.lines.length <= 2, client.stderr.text);
  assert.deepEqual(client.stdout.lines, []);
});

/** Lines an attacker sends to take over a terminal, and how parley must show each. */
const hostileLines: [string, string][] = [
  ["\x1b]0;PWNED\x07title", "^[]0;PWNED^Gtitle"],
  ["\x1b[2J\x1b[H\x1b[31mcleared and red\x1b[0m", "^[[2J^[[H^[[31mcleared and red^[[0m"],
  ["\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "^[]8;;https://evil.example^[\\click^[]8;;^[\\"],
  [
    "\x1bP$q\x1b\\ DCS, \x1b[6n query, bell\x07, del\x7f, nul\x00, bs\x08",
    "^[P$q^[\\ DCS, ^[[6n query, bell^G, del^?, nul^@, bs^H",
  ],
  ["over\rwritten", "over^Mwritten"],
  [
    "c1 csi \u009b2J, c1 osc \u009d0;x\u009c, nel \u0085",
    "c1 csi <U+009B>2J, c1 osc <U+009D>0;x<U+009C>, nel <U+0085>",
  ],
  [
    "bidi \u202eexe.txt\u202c \u2066iso\u2069 \u200e\u200f\u061c",
    "bidi <U+202E>exe.txt<U+202C> <U+2066>iso<U+2069> <U+200E><U+200F><U+061C>",
  ],
  ["separators \u2028 and \u2029", "separators <U+2028> and <U+2029>"],
  ["busy:\x1b]0;PWNED\x07 not the parley busy notice", "busy:^[]0;PWNED^G not the parley busy notice"],
  ["tab\tkept, é and 😀 kept", "tab\tkept, é and 😀 kept"],
];

Deno.test("a plain client shows lines full of ESC, CSI, OSC, C1 and bidi controls escaped on stdout", async () => {
  await using listener = await RawListener.listen();
  await using client = clientOf(listener, false);
  const peer = await listener.accept();
  const bytes = concatBytes([
    ...hostileLines.map(([line]) => encoder.encode(`${line}\r\n`)),
    // Bytes that are not UTF-8, among them an 8-bit C1 CSI: each becomes U+FFFD.
    new Uint8Array([0x9b, 0x32, 0x4a, 0xff, 0x0a]),
  ]);
  await sendQuietly(peer, bytes);
  peer.end();
  await assertCleanExit(client, 0, `127.0.0.1:${listener.port} left`);
  assert.deepEqual(client.stdout.lines, [...hostileLines.map(([, seen]) => seen), "\ufffd2J\ufffd"]);
  assert.deepEqual(client.stdout.lines, shownLines(bytes));
});

Deno.test("a server shows a raw client's lines full of control characters escaped, and keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k"]);
  await using _server = server;
  await using peer = await rawConnect(port);
  const bytes = encoder.encode(hostileLines.map(([line]) => `${line}\n`).join(""));
  await sendQuietly(peer, bytes);
  peer.end();
  await server.stdout.waitForCount(hostileLines.length);
  assert.deepEqual(server.stdout.lines, hostileLines.map(([, seen]) => seen));
  await realExchange(server, port, "after the hostile lines");
  assertCleanOutput(server);
});

// ---------------------------------------------------------------------------
// 6. Random bytes from either side, and a random way of leaving.

/** Bytes that make a stream interesting: line ends, escape sequences, UTF-8 pieces and bad bytes. */
const wireByte: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0x0a, 0x0d, 0x1b, 0x5b, 0x5d, 0x07, 0x7f, 0x00, 0x09) },
  { weight: 2, arbitrary: fc.constantFrom(0xc2, 0x9b, 0x85, 0xe2, 0x80, 0xae, 0xa8, 0xf0, 0x9f, 0x98, 0xff) },
  { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
/** One write of the peer: any bytes, or bytes weighted toward lines and controls. */
const chunk: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2048, size: "max" }),
  fc.array(wireByte, { maxLength: 1024, size: "max" }).map((bytes) => new Uint8Array(bytes)),
);
const chunks: fc.Arbitrary<Uint8Array[]> = fc.array(chunk, { minLength: 1, maxLength: 5 });
/** How many chunks the peer sends before it leaves: often all of them, else a random number. */
const sendCount: fc.Arbitrary<number> = fc.oneof(fc.constant(Infinity), fc.nat({ max: 5 }));

/** How the raw peer leaves: FIN, a close that may leave data unread, a reset, or not at all. */
type Leaving = "end" | "destroy" | "reset" | "silent";

/** The most status lines a client may print: connected, and how it ended (and one to spare). */
const MAX_CLIENT_STATUS_LINES = 3;

/** Checks that `shown` is what the peer's `sent` bytes must look like, as far as it goes (the last line may be cut). */
function assertShownPrefix(shown: readonly string[], sent: Uint8Array, where: string): void {
  const expected = shownLines(sent);
  assert.ok(shown.length <= expected.length + 1, `${where}: ${shown.length} lines shown, ${expected.length} sent`);
  for (let i = 0; i < shown.length - 1; i++) assert.equal(shown[i], expected[i], `${where}: line ${i}`);
}

/**
 * How the secret client meets its server: no secret; a raw peer that knows
 * none; a peer that passes the handshake and sends its random bytes as
 * chat, in records; one that passes it and then sends them raw, as forged
 * records.
 */
type SecretMode = "none" | "raw" | "handshake" | "forged";

async function clientAgainstRandomServer(
  secret: SecretMode,
  sent: Uint8Array[],
  stopAt: number,
  leaving: Leaving,
  input: string[],
): Promise<void> {
  await using listener = await RawListener.listen();
  // A silent server never answers: the client, which waits for the reply to its last line, ends on its idle limit.
  await using client = clientOf(listener, secret !== "none", leaving === "silent" ? ["--idle-timeout", "0.3"] : []);
  // Staying silent ends when the client's input does: then it must have no line left waiting for a turn.
  for (const line of leaving === "silent" ? input.slice(0, 1) : input) await client.write(`${line}\n`);
  const peer = await listener.accept();
  const session = secret === "handshake" || secret === "forged" ? await passHandshake(peer) : undefined;
  const delivered: Uint8Array[] = [];
  for (const bytes of sent.slice(0, stopAt)) {
    const sending = secret === "handshake" ? session!.channel.write(bytes) : peer.write(bytes);
    if (!await sending.then(() => true, () => false)) break;
    delivered.push(bytes);
  }
  if (leaving === "end") peer.end();
  else if (leaving === "destroy") peer.destroy();
  else if (leaving === "reset") peer.reset();
  else await client.closeStdin();
  const status = await client.exit();
  const context = `exit ${status.code}, stderr:\n${client.stderr.text}`;
  assert.ok(status.code === 0 || status.code === 1, context);
  assert.ok(client.stderr.lines.length <= MAX_CLIENT_STATUS_LINES, context);
  if (status.code === 1) assert.match(client.stderr.lines.at(-1) ?? "", /^client: /, context);
  assertCleanOutput(client);
  // Nothing from a peer that did not pass the handshake reaches stdout, nor bytes that are not its records.
  if (secret === "raw" || secret === "forged") assert.deepEqual(client.stdout.lines, [], context);
  // Bytes that are not records end a secure session as an error.
  if (secret === "forged" && delivered.length > 0) assert.equal(status.code, 1, context);
  assertShownPrefix(client.stdout.lines, concatBytes(delivered), "client stdout");
}

const leavings: fc.Arbitrary<Leaving> = fc.constantFrom("end", "destroy", "reset", "silent");
const inputLines: fc.Arbitrary<string[]> = fc.array(fc.constantFrom("hello", "are you there?", ""), { maxLength: 2 });
/** Each run starts a process: few runs, and no shrinking (each step of it would start more). */
const RUNS = { numRuns: 25, endOnFailure: true } as const;

Deno.test("property: a plain client survives a server that sends random bytes and leaves at a random point", async () => {
  await fc.assert(
    fc.asyncProperty(chunks, sendCount, leavings, inputLines, async (sent, stopAt, leaving, input) => {
      await clientAgainstRandomServer("none", sent, stopAt, leaving, input);
    }),
    RUNS,
  );
});

Deno.test("property: a secret client survives a server that sends random bytes, with or without a handshake", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<SecretMode>("raw", "handshake", "forged"),
      chunks,
      sendCount,
      leavings,
      inputLines,
      async (secret, sent, stopAt, leaving, input) => {
        await clientAgainstRandomServer(secret, sent, stopAt, leaving, input);
      },
    ),
    RUNS,
  );
});

/**
 * The server lets one address open about ten connections a second (after a
 * burst), and closes the rest at once: connections to it from here are
 * spaced to stay well under that.
 */
const CONNECT_SPACING_MS = 125;
let lastConnect = 0;

/**
 * Waits until a new connection to the server keeps to {@linkcode CONNECT_SPACING_MS}.
 * A wait for time itself: the limit it keeps under is a rate, with no event to wait for.
 */
async function paced(): Promise<void> {
  const wait = lastConnect + CONNECT_SPACING_MS - Date.now();
  if (wait > 0) await pause(wait);
  lastConnect = Date.now();
}

/**
 * Holds a real conversation with `server`: a parley client sends a line, the
 * server answers with one, and the client leaves. A client that finds the
 * server still busy with the last peer tries again, a bounded number of times.
 */
async function realExchange(server: RunningProgram, port: number, tag: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const from = server.stdout.lines.length;
    await paced();
    await using client = spawnProgram("client", ["127.0.0.1", String(port)]);
    let exited = false;
    client.child.status.then(() => exited = true);
    await client.write(`ping ${tag}\n`);
    await waitFor(() => exited || server.stdout.lines.includes(`ping ${tag}`, from), { what: `ping ${tag}` });
    if (!server.stdout.lines.includes(`ping ${tag}`, from)) {
      // Turned away: the server had not yet seen the last peer go.
      await assertCleanExit(client, 1, /is busy with another session; try again later$/);
      if (attempt >= 20) throw new Error(`the server stayed busy for ${attempt} clients`);
      continue;
    }
    const left = server.stderr.lines.length;
    await server.write(`pong ${tag}\n`);
    await client.stdout.waitFor(new RegExp(`^pong ${tag}$`));
    await client.closeStdin();
    await assertCleanExit(client, 0, /^end of input: left 127\.0\.0\.1:\d+$/);
    assertCleanOutput(client);
    // The server is free again before the next peer comes.
    await server.stderr.waitFor(/^127\.0\.0\.1:\d+ left$/, left);
    return;
  }
}

Deno.test("property: a server with -k survives raw clients that send random bytes and leave at random", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k", "--max-line", "1K"]);
  await using _server = server;
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      chunks,
      sendCount,
      fc.constantFrom<Leaving>("end", "destroy", "reset"),
      async (sent, stopAt, leaving) => {
        run++;
        const from = server.stdout.lines.length;
        const delivered: Uint8Array[] = [];
        {
          await paced();
          await using peer = await rawConnect(port);
          for (const bytes of sent.slice(0, stopAt)) {
            if (!await sendQuietly(peer, bytes)) break;
            delivered.push(bytes);
          }
          if (leaving === "end") {
            peer.end();
            // The server ends its side when it sees ours end.
            await within(peer.closed(), WAIT_MS, "the server closing after the peer's end");
          } else if (leaving === "destroy") {
            peer.destroy();
          } else {
            peer.reset();
          }
        }
        await realExchange(server, port, `run ${run}`);
        const ping = server.stdout.lines.indexOf(`ping run ${run}`, from);
        assertShownPrefix(server.stdout.lines.slice(from, ping), concatBytes(delivered), "server stdout");
        assertCleanOutput(server);
      },
    ),
    RUNS,
  );
  assert.equal(await Promise.race([server.child.status.then(() => "exited"), Promise.resolve("running")]), "running");
});
