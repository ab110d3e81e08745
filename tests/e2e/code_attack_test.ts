/**
 * Attacks on the secure session (`--code`) with the real programs: a
 * man-in-the-middle relay written here passes the four handshake lines
 * unchanged, then parses the records (a 4-byte big-endian length, then that
 * many bytes of ciphertext) and flips a bit, drops, duplicates, swaps or
 * truncates one; a recorded session is replayed to either side; the bytes
 * on the wire are searched for the chat; and a server is flooded, before
 * the handshake by a peer without the code and after it by a fake client
 * built from the library that knows it.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { codePassword } from "../../lib/security/code.ts";
import { MAX_RECORD_BODY, MAX_RECORD_CIPHERTEXT, RECORD_HEADER_BYTES } from "../../lib/security/record.ts";
import { pakeClientSide } from "../../lib/security/secure_handshake.ts";
import { CODE_MISMATCH_LINE, PAKE_PREFIX } from "../../lib/wire/protocol.ts";
import { concatBytes } from "../support/escaped.ts";
import { pakeLine, startPake } from "../support/pake.ts";
import { pause, within } from "../support/raw_peer.ts";
import {
  assertExits,
  compileFlags,
  hasStackTrace,
  LineLog,
  ROOT,
  type RunningProgram,
  spawnProgram,
  startServer,
  WAIT_MS,
} from "../support/process.ts";

const CODE = "7-anvil-orbit-meadow";
/** Both sides duplex: each may send several lines in a row, so the relay sees one record per line. */
const SERVER_ARGS = ["127.0.0.1", "0", `--code=${CODE}`, "--duplex"];
const clientArgs = (port: number): string[] => ["127.0.0.1", String(port), "--code", CODE, "--duplex"];

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** An ACK's ciphertext: type, 8 bytes, tag. Longer records are DATA (our lines are never 8 bytes). */
const ACK_CIPHERTEXT = 1 + 8 + 16;

/** The message of a record that fails authentication (lib/security/record.ts). */
const NOT_AUTHENTIC = /a record did not authenticate: the connection was altered, or a record was dropped/;

// ---------------------------------------------------------------------------
// The man in the middle

/** Which way bytes go through the relay. */
type Direction = "toServer" | "toClient";

/** What the relay sends for one DATA record: records (none, one, several), or these bytes and then the end. */
type Action = { send: Uint8Array[] } | { cut: Uint8Array };

/** An attack on the DATA records of one direction. */
interface Tamper {
  direction: Direction;
  /** What to send for the `index`th DATA record (from 0) of `direction`. */
  data(record: Uint8Array, index: number): Action;
}

function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * A TCP relay for one connection: the client connects to {@linkcode port},
 * the relay connects to the server, keeps everything it sees each way, and
 * lets `tamper` rewrite the DATA records of one direction.
 */
class Relay implements AsyncDisposable {
  readonly port: number;
  /** Every chunk read, each way, as it came. */
  readonly seen: Record<Direction, Uint8Array[]> = { toServer: [], toClient: [] };
  #data: Record<Direction, number> = { toServer: 0, toClient: 0 };
  #listener: Deno.TcpListener;
  #conns: Deno.TcpConn[] = [];
  #running: Promise<void>;
  #changed = Promise.withResolvers<void>();
  #cut = false;

  constructor(serverPort: number, tamper?: Tamper) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#running = this.#run(serverPort, tamper);
  }

  /** Everything seen going `direction`, as one array. */
  bytes(direction: Direction): Uint8Array {
    return concatBytes(this.seen[direction]);
  }

  /** Waits until `count` DATA records went `direction` (or were held or dropped). */
  async waitForData(direction: Direction, count: number, timeoutMs = WAIT_MS): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.#data[direction] < count) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`relay: ${this.#data[direction]} of ${count} DATA records ${direction}`);
      await within(this.#changed.promise, left, "relay").catch(() => {});
    }
  }

  async #run(serverPort: number, tamper: Tamper | undefined): Promise<void> {
    let client: Deno.TcpConn;
    try {
      client = await this.#listener.accept();
    } catch {
      return;
    }
    this.#conns.push(client);
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: serverPort });
    } catch {
      closeQuietly(client);
      return;
    }
    this.#conns.push(server);
    await Promise.all([
      this.#pump(client, server, "toServer", tamper),
      this.#pump(server, client, "toClient", tamper),
    ]);
  }

  async #pump(from: Deno.TcpConn, to: Deno.TcpConn, direction: Direction, tamper: Tamper | undefined): Promise<void> {
    const attack = tamper?.direction === direction ? tamper : undefined;
    const chunk = new Uint8Array(64 * 1024);
    // Two handshake lines go each way: pake and confirm, pake and ok.
    let lines = 2;
    let parsing = true;
    let pending: Uint8Array = new Uint8Array(0);
    try {
      for (let reads = 0; reads < 1_000_000; reads++) {
        const n = await from.read(chunk);
        if (n === null) break;
        const bytes = chunk.slice(0, n);
        this.seen[direction].push(bytes);
        if (this.#cut) continue;
        if (!parsing) {
          await writeAll(to, bytes);
          continue;
        }
        pending = concatBytes([pending, bytes]);
        const out: Uint8Array[] = [];
        let cut = false;
        while (lines > 0) {
          const newline = pending.indexOf(0x0a);
          if (newline < 0) break;
          out.push(pending.slice(0, newline + 1));
          pending = pending.subarray(newline + 1);
          lines--;
        }
        while (lines === 0 && pending.length >= RECORD_HEADER_BYTES) {
          const length = new DataView(pending.buffer, pending.byteOffset).getUint32(0);
          if (length > MAX_RECORD_CIPHERTEXT) {
            // Not a record: pass everything on as it is.
            parsing = false;
            out.push(pending);
            pending = new Uint8Array(0);
            break;
          }
          if (pending.length < RECORD_HEADER_BYTES + length) break;
          const record = pending.slice(0, RECORD_HEADER_BYTES + length);
          pending = pending.subarray(RECORD_HEADER_BYTES + length);
          if (length <= ACK_CIPHERTEXT) {
            out.push(record);
            continue;
          }
          const index = this.#data[direction]++;
          this.#wake();
          const action: Action = attack?.data(record, index) ?? { send: [record] };
          if ("cut" in action) {
            out.push(action.cut);
            cut = true;
            break;
          }
          out.push(...action.send);
        }
        for (const part of out) await writeAll(to, part);
        if (cut) {
          // The end of both directions, as a cable pulled after these bytes: no goodbye either way.
          this.#cut = true;
          for (const conn of this.#conns) await conn.closeWrite().catch(() => {});
        }
      }
      if (this.#cut) return;
      if (pending.length > 0) await writeAll(to, pending);
      await to.closeWrite();
    } catch {
      // A connection closed under us: the relay's part is over.
    }
  }

  #wake(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    closeQuietly(this.#listener);
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#running;
    // A connection accepted while we were closing.
    for (const conn of this.#conns) closeQuietly(conn);
  }
}

/** `record` with one bit flipped in the middle of its ciphertext (the header stays). */
function flipBit(record: Uint8Array): Uint8Array {
  const copy = record.slice();
  copy[RECORD_HEADER_BYTES + Math.floor((copy.length - RECORD_HEADER_BYTES) / 2)] ^= 0x01;
  return copy;
}

// ---------------------------------------------------------------------------
// Helpers

/** The lines a program wrote on stderr after its `connected` line. */
function linesAfterConnected(program: RunningProgram): string[] {
  const lines = program.stderr.lines;
  const at = lines.findIndex((line) => /^connected/.test(line));
  assert.notEqual(at, -1, `no "connected" line:\n${program.stderr.text}`);
  return lines.slice(at + 1);
}

/**
 * Waits for `program` to exit with 0 or 1, and checks that it said why in
 * one line after it connected, without a stack trace; returns that line.
 */
async function assertEndsInOneLine(program: RunningProgram, pattern?: RegExp): Promise<string> {
  const status = await program.exit();
  const stderr = program.stderr.text;
  assert.ok(!hasStackTrace(stderr), `stack trace on stderr:\n${stderr}`);
  assert.ok(status.code === 0 || status.code === 1, `exit code ${status.code}:\n${stderr}`);
  const after = linesAfterConnected(program);
  assert.equal(after.length, 1, `expected one line after connecting:\n${stderr}`);
  if (pattern !== undefined) assert.match(after[0], pattern, stderr);
  return after[0];
}

/** How often `line` appears on a log. */
function count(log: LineLog, line: string): number {
  return log.lines.filter((shown) => shown.includes(line)).length;
}

/** Starts a server with `args` and waits until it has said all it says before a client comes. */
async function startCodeServer(args: string[]): Promise<{ server: RunningProgram; port: number }> {
  const started = await startServer(args);
  try {
    await started.server.stderr.waitFor(/^connect with: /);
  } catch (error) {
    await started.server[Symbol.asyncDispose]();
    throw error;
  }
  return started;
}

/** A server, a relay with `tamper` in front of it, and a client through the relay, connected. */
async function attackedSession(tamper: Tamper, serverArgs: string[] = SERVER_ARGS) {
  const { server, port } = await startCodeServer(serverArgs);
  const relay = new Relay(port, tamper);
  const client = spawnProgram("client", clientArgs(relay.port));
  try {
    await client.stderr.waitFor(/^connected to 127\.0\.0\.1:\d+ \(private, check: \S+\)$/);
    await server.stderr.waitFor(/^connected: 127\.0\.0\.1:\d+ \(private, check: \S+\)$/);
  } catch (error) {
    await client[Symbol.asyncDispose]();
    await relay[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
    throw error;
  }
  return { server, relay, client };
}

/** The resident memory of process `pid`, in bytes (Deno reads /proc only with every permission: cat does). */
async function rss(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(new TextDecoder().decode(stdout))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

const MB = 1024 * 1024;

// ---------------------------------------------------------------------------
// 1–5: records altered on the way

Deno.test("a bit flipped in a client's record: the server says it did not authenticate, never shows the line", async () => {
  const { server, relay, client } = await attackedSession({
    direction: "toServer",
    data: (record, index) => ({ send: [index === 1 ? flipBit(record) : record] }),
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await client.write("first-line-passes\n");
  await server.stdout.waitFor(/^first-line-passes$/);
  await client.write("ALTERED-LINE-24680\n");
  await assertExits(server, 1, NOT_AUTHENTIC);
  assert.equal(linesAfterConnected(server).length, 1, server.stderr.text);
  assert.equal(count(server.stdout, "ALTERED"), 0, server.stdout.text);
  assert.deepEqual(server.stdout.lines, ["first-line-passes"]);
  await assertEndsInOneLine(client);
});

Deno.test("a bit flipped in a server's record: the client says it did not authenticate, never shows the line", async () => {
  const { server, relay, client } = await attackedSession({
    direction: "toClient",
    data: (record, index) => ({ send: [index === 1 ? flipBit(record) : record] }),
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await server.write("first-line-passes\n");
  await client.stdout.waitFor(/^first-line-passes$/);
  await server.write("ALTERED-LINE-13579\n");
  await assertExits(client, 1, NOT_AUTHENTIC);
  assert.equal(linesAfterConnected(client).length, 1, client.stderr.text);
  assert.deepEqual(client.stdout.lines, ["first-line-passes"]);
  await assertEndsInOneLine(server);
});

Deno.test("a dropped record: the server notices at the next one and shows neither line", async () => {
  const { server, relay, client } = await attackedSession({
    direction: "toServer",
    data: (record, index) => ({ send: index === 1 ? [] : [record] }),
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await client.write("first-line-passes\n");
  await server.stdout.waitFor(/^first-line-passes$/);
  await client.write("DROPPED-LINE-11111\n");
  await relay.waitForData("toServer", 2);
  await client.write("AFTER-THE-DROP-22222\n");
  await assertExits(server, 1, NOT_AUTHENTIC);
  assert.equal(linesAfterConnected(server).length, 1, server.stderr.text);
  assert.deepEqual(server.stdout.lines, ["first-line-passes"]);
  await assertEndsInOneLine(client);
});

Deno.test("a duplicated record: the server shows the line once, then says the copy did not authenticate", async () => {
  const { server, relay, client } = await attackedSession({
    direction: "toServer",
    data: (record, index) => ({ send: index === 1 ? [record, record] : [record] }),
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await client.write("first-line-passes\n");
  await server.stdout.waitFor(/^first-line-passes$/);
  await client.write("DUPLICATED-LINE-33333\n");
  await assertExits(server, 1, NOT_AUTHENTIC);
  assert.equal(linesAfterConnected(server).length, 1, server.stderr.text);
  // The genuine record may be shown (it authenticated); its copy never is.
  assert.ok(count(server.stdout, "DUPLICATED-LINE-33333") <= 1, server.stdout.text);
  await assertEndsInOneLine(client);
});

Deno.test("two records swapped: the server says the first to come did not authenticate, shows neither", async () => {
  let held: Uint8Array | undefined;
  const { server, relay, client } = await attackedSession({
    direction: "toServer",
    data: (record, index) => {
      if (index === 1) {
        held = record;
        return { send: [] };
      }
      if (index === 2 && held !== undefined) return { send: [record, held] };
      return { send: [record] };
    },
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await client.write("first-line-passes\n");
  await server.stdout.waitFor(/^first-line-passes$/);
  await client.write("SWAPPED-FIRST-44444\n");
  await relay.waitForData("toServer", 2);
  await client.write("SWAPPED-SECOND-55555\n");
  await assertExits(server, 1, NOT_AUTHENTIC);
  assert.equal(linesAfterConnected(server).length, 1, server.stderr.text);
  assert.deepEqual(server.stdout.lines, ["first-line-passes"]);
  await assertEndsInOneLine(client);
});

Deno.test("a stream cut inside a client's record: the server says it was cut, not that the client left", async () => {
  const { server, relay, client } = await attackedSession({
    direction: "toServer",
    data: (record, index) => index === 1 ? { cut: record.subarray(0, record.length >> 1) } : { send: [record] },
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await client.write("first-line-passes\n");
  await server.stdout.waitFor(/^first-line-passes$/);
  await client.write("TRUNCATED-LINE-66666\n");
  await assertExits(server, 1, /cut in the middle of a record|lost/);
  const [said] = linesAfterConnected(server);
  assert.doesNotMatch(said, /\bleft\b/);
  assert.equal(linesAfterConnected(server).length, 1, server.stderr.text);
  assert.deepEqual(server.stdout.lines, ["first-line-passes"]);
  const clientSaid = await assertEndsInOneLine(client, /lost|cut/);
  assert.doesNotMatch(clientSaid, /\bleft\b/);
});

Deno.test("a stream cut inside a server's record: the client says it was cut, not that the server left", async () => {
  const { server, relay, client } = await attackedSession({
    direction: "toClient",
    data: (record, index) => index === 1 ? { cut: record.subarray(0, record.length >> 1) } : { send: [record] },
  });
  await using _server = server;
  await using _relay = relay;
  await using _client = client;
  await server.write("first-line-passes\n");
  await client.stdout.waitFor(/^first-line-passes$/);
  await server.write("TRUNCATED-LINE-77777\n");
  await assertExits(client, 1, /cut in the middle of a record|lost/);
  const [said] = linesAfterConnected(client);
  assert.doesNotMatch(said, /\bleft\b/);
  assert.equal(linesAfterConnected(client).length, 1, client.stderr.text);
  assert.deepEqual(client.stdout.lines, ["first-line-passes"]);
  const serverSaid = await assertEndsInOneLine(server, /lost|cut/);
  assert.doesNotMatch(serverSaid, /\bleft\b/);
});

// ---------------------------------------------------------------------------
// 6: what the wire shows

Deno.test("the bytes on the wire hold neither the chat, nor the check words, nor the code", async () => {
  const { server, port } = await startCodeServer(SERVER_ARGS);
  await using _server = server;
  await using relay = new Relay(port);
  await using client = spawnProgram("client", clientArgs(relay.port));
  const { match } = await client.stderr.waitFor(/^connected to .* \(private, check: (\S+)\)$/);
  const check = match[1];
  await server.stderr.waitFor(new RegExp(`^connected: .* \\(private, check: ${check}\\)$`));
  const secrets = ["SECRET-LINE-12345", "SECRET-LINE-67890", "SERVER-SECRET-24680"];
  await client.write(`${secrets[0]}\n`);
  await server.stdout.waitFor(/^SECRET-LINE-12345$/);
  await client.write(`${secrets[1]}\n`);
  await server.stdout.waitFor(/^SECRET-LINE-67890$/);
  await server.write(`${secrets[2]}\n`);
  await client.stdout.waitFor(/^SERVER-SECRET-24680$/);
  await client.closeStdin();
  await server.closeStdin();
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  await relay[Symbol.asyncDispose]();

  const wire = { toServer: latin1.decode(relay.bytes("toServer")), toClient: latin1.decode(relay.bytes("toClient")) };
  // The relay did see the session: the handshake, then records.
  assert.match(wire.toServer, /^parley-pake 1 duplex \S+ \S+\nparley-confirm \S+\n/);
  assert.match(wire.toClient, /^parley-pake 1 duplex \S+ \S+\nparley-ok\n/);
  for (const [direction, text] of Object.entries(wire)) {
    for (const secret of [...secrets, "SECRET", check, ...check.split("-"), CODE, "anvil", "orbit", "meadow"]) {
      assert.ok(!text.includes(secret), `${JSON.stringify(secret)} went ${direction} in clear`);
    }
  }
});

// ---------------------------------------------------------------------------
// 7: replays

/** Runs a whole session through a relay (the client leaves on SIGTERM) and returns what went each way. */
async function recordSession(server: RunningProgram, port: number, lines: { client: string; server: string }) {
  await using relay = new Relay(port);
  await using client = spawnProgram("client", clientArgs(relay.port));
  await client.stderr.waitFor(/^connected to /);
  await client.write(`${lines.client}\n`);
  await server.stdout.waitFor(new RegExp(`^${lines.client}$`));
  await server.write(`${lines.server}\n`);
  await client.stdout.waitFor(new RegExp(`^${lines.server}$`));
  client.child.kill("SIGTERM");
  assert.equal((await client.exit()).code, 0, client.stderr.text);
  await server.stderr.waitFor(/ left\b/);
  await relay[Symbol.asyncDispose]();
  return { toServer: relay.bytes("toServer"), toClient: relay.bytes("toClient") };
}

Deno.test("a recorded client's bytes replayed to the server: refused, nothing shown, the server keeps serving", async () => {
  const { server, port } = await startCodeServer([...SERVER_ARGS, "-k"]);
  await using _server = server;
  const recorded = await recordSession(server, port, { client: "REPLAYED-SECRET-31415", server: "reply-27182" });
  assert.match(latin1.decode(recorded.toServer), /^parley-pake 1 \S+ \S+ \S+\nparley-confirm \S+\n/);
  const before = server.stderr.lines.length;

  // The attacker sends the client's side again, verbatim, on a new connection.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let answer = "";
  try {
    await writeAll(conn, recorded.toServer).catch(() => {});
    const buf = new Uint8Array(4096);
    for (let reads = 0; reads < 100; reads++) {
      const n = await within(conn.read(buf), WAIT_MS, "the server's answer to a replay").catch(() => null);
      if (n === null) break;
      answer += latin1.decode(buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
  // A fresh share of the server's, and a refusal of the old confirmation: never parley-ok.
  assert.match(answer, new RegExp(`^${PAKE_PREFIX} duplex \\S+ \\S+\\n`));
  assert.ok(!answer.includes("parley-ok"), answer);
  assert.ok(answer.includes(CODE_MISMATCH_LINE), answer);
  const { index } = await server.stderr.waitFor(/did not match/, before);
  assert.ok(!hasStackTrace(server.stderr.text), server.stderr.text);
  assert.equal(index, server.stderr.lines.length - 1, server.stderr.text);
  assert.equal(count(server.stdout, "REPLAYED-SECRET-31415"), 1, server.stdout.text);

  // And it still serves the real client.
  await using client = spawnProgram("client", clientArgs(port));
  await client.stderr.waitFor(/^connected to /);
  await client.write("after-the-replay\n");
  await server.stdout.waitFor(/^after-the-replay$/);
  assert.equal(count(server.stdout, "REPLAYED-SECRET-31415"), 1, server.stdout.text);
});

Deno.test("a recorded server's bytes replayed to a client: it fails in one line and shows nothing", async () => {
  const { server, port } = await startCodeServer([...SERVER_ARGS, "-k"]);
  await using _server = server;
  const recorded = await recordSession(server, port, { client: "client-line-16180", server: "REPLAYED-SERVER-14142" });
  assert.match(latin1.decode(recorded.toClient), /^parley-pake 1 \S+ \S+ \S+\nparley-ok\n/);

  // The attacker plays the server: it waits for the client's first line, then sends the recorded answer.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using client = spawnProgram("client", clientArgs(listener.addr.port));
  const conn = await within(listener.accept(), WAIT_MS, "the client to connect");
  let heard = "";
  try {
    const buf = new Uint8Array(4096);
    for (let reads = 0; reads < 100 && !heard.includes("\n"); reads++) {
      const n = await within(conn.read(buf), WAIT_MS, "the client's first line");
      if (n === null) break;
      heard += latin1.decode(buf.subarray(0, n));
    }
    assert.match(heard, /^parley-pake 1 duplex \S+ \S+\n/);
    await writeAll(conn, recorded.toClient).catch(() => {});
    // What the client says back, until it closes.
    for (let reads = 0; reads < 100; reads++) {
      const n = await within(conn.read(buf), WAIT_MS, "the client to close").catch(() => null);
      if (n === null) break;
      heard += latin1.decode(buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
  await assertExits(client, 1, /^client: the code did not match/);
  assert.equal(client.stderr.lines.length, 1, client.stderr.text);
  assert.deepEqual(client.stdout.lines, []);
  assert.ok(heard.includes(CODE_MISMATCH_LINE), heard);
});

// ---------------------------------------------------------------------------
// 8: floods before the handshake, from a peer without the code

/** Sends up to `total` bytes of `chunk`s; stops at the first failed write. Returns the bytes taken. */
async function flood(conn: Deno.TcpConn, chunk: Uint8Array, total: number, timeoutMs = WAIT_MS): Promise<number> {
  let sent = 0;
  const end = Date.now() + timeoutMs;
  while (sent < total && Date.now() < end) {
    const writing = writeAll(conn, chunk);
    try {
      await within(writing, end - Date.now(), "a flood write");
    } catch {
      // Refused (the server closed), or stuck: either way the flood is over; a stuck write ends with the close.
      closeQuietly(conn);
      await writing.catch(() => {});
      return sent;
    }
    sent += chunk.length;
  }
  return sent;
}

/** Reads until the server ends the connection (or resets it); true when it did within the time. */
async function endedByServer(conn: Deno.TcpConn, timeoutMs = WAIT_MS): Promise<boolean> {
  const buf = new Uint8Array(64 * 1024);
  const end = Date.now() + timeoutMs;
  for (let reads = 0; reads < 10_000 && Date.now() < end; reads++) {
    try {
      const n = await within(conn.read(buf), end - Date.now(), "the server to close");
      if (n === null) return true;
    } catch (error) {
      if (error instanceof Error && /nothing after/.test(error.message)) return false;
      // A reset, or our own side closed after a refused write: the server is gone either way.
      return true;
    }
  }
  return false;
}

/** Checks that `server` still holds a real session: a client with the code connects and a line arrives. */
async function assertStillServes(server: RunningProgram, port: number, line: string): Promise<void> {
  await using client = spawnProgram("client", clientArgs(port));
  await client.stderr.waitFor(/^connected to /);
  await client.write(`${line}\n`);
  await server.stdout.waitFor(new RegExp(`^${line}$`));
  client.child.kill("SIGTERM");
  assert.equal((await client.exit()).code, 0, client.stderr.text);
}

Deno.test("a pake line with a bad share, then megabytes: refused in one line each, memory stays bounded", async () => {
  const { server, port } = await startCodeServer([...SERVER_ARGS, "-k"]);
  await using _server = server;
  const baseline = await rss(server.child.pid);
  let peak = baseline;
  const junk = new Uint8Array(64 * 1024).fill(0x41);
  // Not an encoding of a group element; the neutral element; and a real share made with another code.
  const wrongCode = startPake("1-wrong-code-here", "duplex").run.message.share;
  const shares = [new Uint8Array(32).fill(0xff), new Uint8Array(32), wrongCode];
  for (const [i, share] of shares.entries()) {
    const before = server.stderr.lines.length;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await writeAll(conn, encoder.encode(pakeLine(share, "duplex")));
      const sent = await flood(conn, junk, 64 * MB);
      assert.ok(sent < 64 * MB, `share ${i}: the server took all 64 MiB of the flood`);
      assert.ok(await endedByServer(conn), `share ${i}: the server did not close the flooding connection`);
    } finally {
      closeQuietly(conn);
    }
    // Whether that line names the client is the test below; here, that there is one, and what it says.
    const { index } = await server.stderr.waitFor(/share|longer than 512 bytes|malformed/, before);
    assert.equal(index, before, `share ${i}:\n${server.stderr.lines.slice(before).join("\n")}`);
    assert.equal(server.stderr.lines.length, before + 1, `share ${i}:\n${server.stderr.text}`);
    peak = Math.max(peak, await rss(server.child.pid));
  }
  assert.ok(!hasStackTrace(server.stderr.text), server.stderr.text);
  assert.ok(peak - baseline < 48 * MB, `server RSS grew by ${((peak - baseline) / MB).toFixed(1)} MB`);
  await assertStillServes(server, port, "served-after-the-bad-shares");
});

Deno.test("the server's line about an invalid share names the client's address, as its other handshake lines do", async () => {
  const { server, port } = await startCodeServer([...SERVER_ARGS, "-k"]);
  await using _server = server;
  const before = server.stderr.lines.length;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const clientPort = (conn.localAddr as Deno.NetAddr).port;
  try {
    await writeAll(conn, encoder.encode(pakeLine(new Uint8Array(32).fill(0xff), "duplex")));
    assert.ok(await endedByServer(conn), "the server did not close the connection");
  } finally {
    closeQuietly(conn);
  }
  const { index } = await server.stderr.waitFor(/share/, before);
  assert.match(server.stderr.lines[index], new RegExp(`^127\\.0\\.0\\.1:${clientPort} `), server.stderr.text);
});

Deno.test("an endless first line without a newline: the server cuts it short, memory stays bounded", async () => {
  const { server, port } = await startCodeServer([...SERVER_ARGS, "-k"]);
  await using _server = server;
  const baseline = await rss(server.child.pid);
  const before = server.stderr.lines.length;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const sent = await flood(conn, new Uint8Array(64 * 1024).fill(0x78), 64 * MB);
    assert.ok(sent < 64 * MB, "the server took all 64 MiB of a line without end");
    assert.ok(await endedByServer(conn), "the server did not close the flooding connection");
  } finally {
    closeQuietly(conn);
  }
  await server.stderr.waitFor(/127\.0\.0\.1:\d+/, before);
  const said = server.stderr.lines.slice(before);
  assert.equal(said.length, 1, said.join("\n"));
  assert.ok(!hasStackTrace(server.stderr.text), server.stderr.text);
  const grew = (await rss(server.child.pid)) - baseline;
  assert.ok(grew < 48 * MB, `server RSS grew by ${(grew / MB).toFixed(1)} MB`);
  await assertStillServes(server, port, "served-after-the-endless-line");
});

// ---------------------------------------------------------------------------
// 9: floods after the handshake, from a fake client that knows the code

/** A server whose stdout the test reads itself, as slowly as it likes. */
class SlowReadServer implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stderr: LineLog;
  readonly stdout: ReadableStreamDefaultReader<Uint8Array>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(args: string[]) {
    const { PARLEY_SECRET: _, ...inherited } = Deno.env.toObject();
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...compileFlags("server"), "--no-prompt", `${ROOT}server.ts`, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: { ...inherited, NO_COLOR: "1" },
    }).spawn();
    this.stderr = new LineLog(this.child.stderr);
    this.stdout = this.child.stdout.getReader();
    this.#stdin = this.child.stdin.getWriter();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#stdin.close().catch(() => {});
    await this.stdout.cancel().catch(() => {});
    await this.child.status;
    await this.stderr.ended();
  }
}

/** Connects to the server at `port` and completes the handshake with the code, as a client would. */
async function fakeClient(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const session = await pakeClientSide(conn, conn, {
      password: codePassword(CODE),
      mode: "duplex",
      peerName: "the server",
    });
    return { conn, channel: session.channel };
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test("a flood of 2000 full records while the server's output is read slowly: its memory stays bounded", async () => {
  const RECORDS = 2000;
  await using server = new SlowReadServer(SERVER_ARGS);
  const { match } = await server.stderr.waitFor(/^listening on \S*:(\d+)/);
  const { conn, channel } = await fakeClient(Number(match[1]));
  try {
    await server.stderr.waitFor(/^connected: .* \(private, check: \S+\)$/);
    const baseline = await rss(server.child.pid);
    // 64 lines of 1 KiB: one full record.
    const line = "f".repeat(1023) + "\n";
    const body = encoder.encode(line.repeat(MAX_RECORD_BODY / line.length));
    assert.equal(body.length, MAX_RECORD_BODY);

    // Takes ACKs and, in the end, the server's goodbye.
    const reading = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (let reads = 0; reads < 1_000_000; reads++) {
        if ((await channel.read(buf)) === null) return;
      }
    })().catch(() => {});
    let written = 0;
    const deadline = Date.now() + 120_000;
    const writing = (async () => {
      while (written < RECORDS && Date.now() < deadline) {
        await channel.write(body);
        written++;
      }
    })();
    writing.catch(() => {});

    // Slowly: one chunk of the server's output every 50 ms, for 2 s.
    let shown = 0;
    let peak = baseline;
    for (let i = 0; i < 40; i++) {
      const { value, done } = await within(server.stdout.read(), WAIT_MS, "the server's output");
      if (done) break;
      shown += value.length;
      if (i % 5 === 0) peak = Math.max(peak, await rss(server.child.pid));
      await pause(50);
    }
    const writtenWhileSlow = written;
    // Socket buffers on loopback hold some megabytes (about 280 records here); all 2000 would mean no backpressure.
    assert.ok(
      writtenWhileSlow < RECORDS / 2,
      `the server took ${writtenWhileSlow} records of 64 KiB while its output was held back`,
    );
    // Then fast, to the end.
    const total = RECORDS * MAX_RECORD_BODY;
    for (let reads = 0; shown < total && Date.now() < deadline && reads < 10_000_000; reads++) {
      const { value, done } = await within(server.stdout.read(), WAIT_MS, "the server's output");
      if (done) break;
      shown += value.length;
      if (reads % 500 === 0) peak = Math.max(peak, await rss(server.child.pid));
    }
    await writing;
    assert.equal(written, RECORDS);
    assert.equal(shown, total);
    assert.ok(peak - baseline < 64 * MB, `server RSS grew by ${((peak - baseline) / MB).toFixed(1)} MB`);

    await channel.leave();
    await within(reading, WAIT_MS, "the server to end the session");
    const status = await within(server.child.status, WAIT_MS, "the server to exit");
    assert.equal(status.code, 0, server.stderr.text);
    await server.stderr.ended();
    assert.ok(!hasStackTrace(server.stderr.text), server.stderr.text);
    assert.match(server.stderr.lines.at(-1) ?? "", /left/, server.stderr.text);
  } finally {
    closeQuietly(conn);
  }
});

Deno.test("a record header announcing 0xFFFFFFFF bytes: the server refuses it at once, in one line", async () => {
  const { server, port } = await startCodeServer(SERVER_ARGS);
  await using _server = server;
  const { conn } = await fakeClient(port);
  try {
    await server.stderr.waitFor(/^connected: .* \(private, check: \S+\)$/);
    // Only the header: the server must not wait for the 4 GiB it announces, nor make room for them.
    await writeAll(conn, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const started = Date.now();
    await assertExits(server, 1, /a record header announced 4294967295 bytes; a record holds 17 to 65553/);
    assert.ok(Date.now() - started < 5000, `refused after ${Date.now() - started} ms`);
    assert.equal(linesAfterConnected(server).length, 1, server.stderr.text);
    assert.deepEqual(server.stdout.lines, []);
  } finally {
    closeQuietly(conn);
  }
});
