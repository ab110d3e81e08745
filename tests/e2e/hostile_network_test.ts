/**
 * The real programs against a hostile network, over loopback: peers that
 * reset at every stage (plain, TLS, secret), handshakes that stall from
 * several source addresses at once, and writes that block while the person
 * presses Ctrl+C or the system sends SIGTERM.
 *
 * Every test ends with the programs' outputs checked for stack traces and
 * raw control characters, and, where a server survives, with a real client
 * that still gets a whole exchange through.
 */

import { OVERLOADED_PREFIX, PAKE_PREFIX } from "../../lib/wire/protocol.ts";
import { startPake } from "../support/pake.ts";
import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { WIND_DOWN_MS } from "../../lib/cli/program.ts";
import { type PortPair, portsOf, tcpBacklog } from "../support/net.ts";
import { quietFor, waitFor, waitForSteady } from "../support/wait.ts";
import { haveOpenssl, makeCertificates, secretFile, type TestCertificates } from "../support/certs.ts";
import { assertCleanExit, assertCleanOutput } from "../support/clean.ts";
import {
  compileFlags,
  LineLog,
  ROOT,
  type RunningProgram,
  spawnProgram,
  startServer,
  WAIT_MS,
} from "../support/process.ts";
import {
  collect,
  PARTIAL_CLIENT_HELLO,
  resetSocket,
  rudeConnect,
  type RudeSocket,
  rudeTlsConnect,
  StallingCrowd,
  within,
} from "../support/raw_peer.ts";

const encoder = new TextEncoder();
const skipTls = haveOpenssl() ? "" : " (skipped: openssl is not installed; .ci/run installs it)";
const certs: TestCertificates | undefined = skipTls ? undefined : makeCertificates();

const SECRET = secretFile("hostile network secret");

/**
 * A client's first line of the secure handshake, well formed (a fresh
 * session id and a valid share) but made with a password of its own: the
 * server answers it, and the connection then stalls or goes.
 */
function pakeLine(): string {
  return startPake("a guess").line;
}

/** How the server's answer to {@linkcode pakeLine} starts. */
const PAKE_ANSWER = `${PAKE_PREFIX} alternating `;

/** The options that make a server use TLS with the test certificate. */
function tlsServerArgs(c: TestCertificates): string[] {
  return ["--tls-cert", c.good.cert, "--tls-key", c.good.key];
}

let exchanges = 0;

/**
 * A real parley client (from 127.0.0.1) gets a whole exchange through
 * `server`: one line each way, then leaves.
 */
async function realExchange(server: RunningProgram, port: number, clientArgs: string[]): Promise<void> {
  const token = `exchange-${++exchanges}`;
  await using client = spawnProgram("client", ["127.0.0.1", String(port), ...clientArgs]);
  await client.stderr.waitFor(/^connected to /);
  await client.write(`${token} from the client\n`);
  await server.stdout.waitFor(new RegExp(`^${token} from the client$`));
  await server.write(`${token} from the server\n`);
  await client.stdout.waitFor(new RegExp(`^${token} from the server$`));
  await client.closeStdin();
  await assertCleanExit(client, 0, /^end of input: left /);
}

/** Connects with TLS, finishes the handshake, and hands back the connection. */
async function tlsConnect(port: number, c: TestCertificates): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [await Deno.readTextFile(c.ca)] });
  await conn.handshake();
  return conn;
}

/** True when `program` has not exited, nor begun to, for a short while: a check that it did NOT end. */
async function running(program: RunningProgram): Promise<boolean> {
  let exited = false;
  program.child.status.then(() => exited = true);
  // No event marks "still running": an exit already under way shows within this time.
  await quietFor(50, "a server that the connections above brought down would be seen exiting within this time");
  return !exited;
}

function tlsTest(name: string, fn: (c: TestCertificates) => Promise<void>): void {
  Deno.test({ name: name + skipTls, ignore: certs === undefined, fn: () => fn(certs!) });
}

// Resets at every stage.

tlsTest("a TLS client that resets at any stage never takes a -k server down", async (c) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k", ...tlsServerArgs(c)]);
  await using _server = server;
  const ca = await Deno.readTextFile(c.ca);
  // Before any byte: the connection may be gone before it is accepted, or it is dropped (never taken for a plain client).
  await resetSocket(await rudeConnect(port));
  await server.stderr.waitFor(/before it could be accepted$|^127\.0\.0\.1:\d+ dropped before the TLS handshake: /);
  // In the middle of a ClientHello.
  await resetSocket(await rudeConnect(port, { send: PARTIAL_CLIENT_HELLO }));
  // Right after the handshake, before a word: the server may still be finishing its side of it.
  await resetSocket((await rudeTlsConnect(port, ca)).raw);
  await server.stderr.waitFor(
    / lost: connection reset by peer$|^TLS handshake with .* failed: connection reset by peer$/,
  );
  // In a session, after a line.
  const { raw } = await rudeTlsConnect(port, ca, { send: "about to vanish\n" });
  await server.stdout.waitFor(/^about to vanish$/);
  const from = server.stderr.lines.length;
  await resetSocket(raw);
  await server.stderr.waitFor(/ lost: connection reset by peer$/, from);
  // Closing without reading what the server sent (its session tickets) resets the connection too.
  const closing = await rudeTlsConnect(port, ca, { send: "closing unread\n" });
  await server.stdout.waitFor(/^closing unread$/);
  closing.raw.destroy();
  assert.ok(await running(server), "the server is still running");
  await realExchange(server, port, ["--tls", "--ca", c.ca]);
  assertCleanOutput(server);
});

tlsTest("a TLS client that resets in a session ends a server without -k with one line, exit 1", async (c) => {
  const { server, port } = await startServer(["127.0.0.1", "0", ...tlsServerArgs(c)]);
  await using _server = server;
  const { raw } = await rudeTlsConnect(port, await Deno.readTextFile(c.ca), { send: "hi\n" });
  await server.stdout.waitFor(/^hi$/);
  await resetSocket(raw);
  await assertCleanExit(server, 1, /^server: Connection with 127\.0\.0\.1:\d+ lost: connection reset by peer$/);
  assert.deepEqual(server.stdout.lines, ["hi"]);
});

tlsTest("resets before the TLS handshake ends are not sessions: the server keeps waiting", async (c) => {
  const { server, port } = await startServer(["127.0.0.1", "0", ...tlsServerArgs(c)]);
  await using _server = server;
  const from = server.stderr.lines.length;
  for (let i = 0; i < 3; i++) {
    await resetSocket(await rudeConnect(port, { send: PARTIAL_CLIENT_HELLO }));
    // Each leaves one line: a failed handshake, or a connection gone before it was accepted.
    await server.stderr.waitFor(/TLS handshake with 127\.0\.0\.1:\d+ failed: |before it could be accepted$/, from + i);
  }
  assert.ok(await running(server));
  await realExchange(server, port, ["--tls", "--ca", c.ca]);
  assertCleanOutput(server);
});

for (const tls of [false, true]) {
  const name = tls ? "TLS and secret" : "secret";
  tlsTest(`a client that resets during the ${name} handshake is dropped; a real client gets in`, async (c) => {
    const extra = tls ? tlsServerArgs(c) : [];
    const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", SECRET, ...extra]);
    await using _server = server;
    for (let i = 0; i < 3; i++) {
      if (tls) {
        // Closing with the answer unread resets the connection.
        const conn = await tlsConnect(port, c);
        await writeAll(conn, encoder.encode(pakeLine()));
        await conn.read(new Uint8Array(1));
        conn.close();
      } else {
        const socket = await rudeConnect(port, { send: pakeLine() });
        const received = collect(socket);
        await waitFor(() => received.text.startsWith(PAKE_ANSWER), { what: "the server's answer" });
        await resetSocket(socket);
      }
    }
    await server.stderr.waitFor(/127\.0\.0\.1:\d+/, 2);
    assert.ok(await running(server));
    await realExchange(server, port, ["--secret-file", SECRET, ...(tls ? ["--tls", "--ca", c.ca] : [])]);
    assertCleanOutput(server);
  });
}

Deno.test("a plain client that resets in a session: one line, and -k keeps serving", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k"]);
  await using _server = server;
  for (let i = 0; i < 3; i++) {
    const socket = await rudeConnect(port, { send: `line ${i}\n` });
    await server.stdout.waitFor(new RegExp(`^line ${i}$`));
    await resetSocket(socket);
    await server.stderr.waitFor(/ lost: connection reset by peer$/, server.stderr.lines.length - 1);
  }
  await realExchange(server, port, []);
  assertCleanOutput(server);
});

Deno.test("connections reset before they can be accepted each leave a line in the log", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k"]);
  await using _server = server;
  const before = server.stderr.lines.length;
  // Fewer than the log's share for one address in ten seconds (5), so that each must show.
  const attempts = 4;
  const trace = /reset by its peer before it could be accepted$|^connected: 127\.0\.0\.1/;
  let from = before;
  for (let i = 0; i < attempts; i++) {
    await resetSocket(await rudeConnect(port, { send: `gone ${i}\n` }));
    // Each attempt leaves its trace before the next is made; one accepted in time became a session,
    // and the next waits for the server to be free again (a busy server would turn it away unlogged).
    const { index, match } = await server.stderr.waitFor(trace, from);
    from = index + 1;
    if (match[0].startsWith("connected: ")) {
      from = (await server.stderr.waitFor(/^waiting for the next client/, from)).index + 1;
    }
  }
  await realExchange(server, port, []);
  const traces = server.stderr.lines.slice(before).filter((line) => trace.test(line));
  // Each attempt left a trace, and the real client one more.
  assert.ok(traces.length >= attempts + 1, `traces:\n${server.stderr.text}`);
  assertCleanOutput(server);
});

Deno.test("a plain server tells a TLS client so at once, from the first bytes of its ClientHello", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0"]);
  await using _server = server;
  // No line end and far fewer than 64 bytes, and the connection stays open: the record's first bytes decide.
  const socket = await rudeConnect(port, { send: PARTIAL_CLIENT_HELLO });
  const told = collect(socket);
  await within(told.closed, WAIT_MS, "the server's answer to a ClientHello").finally(() => resetSocket(socket));
  assert.equal(told.text, "error: this parley server does not use TLS\n");
  await server.stderr.waitFor(/^127\.0\.0\.1:\d+ tried to start TLS, but this server does not use it/);
  await realExchange(server, port, []);
});

Deno.test("an address that opens connection after connection gets them closed at once; others are served", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k", "--secret-file", SECRET]);
  await using _server = server;
  // Forty at once from one address: twenty are taken (the burst), the rest closed without any work.
  const sockets = await Promise.all(
    Array.from({ length: 40 }, () => rudeConnect(port, { from: "127.0.0.2", send: pakeLine() })),
  );
  const received = sockets.map(collect);
  try {
    await server.stderr.waitFor(/^127\.0\.0\.2:\d+ closed at once: its address opens too many connections/);
    // The burst (twenty) was taken: each got the server's answer, or, over its address's share of handshake
    // places, the line saying it was dropped to make room; the others were closed with the rate line, no work done.
    const answered = () => received.filter((r) => r.text.startsWith(PAKE_ANSWER));
    const evicted = () => received.filter((r) => r.text.startsWith(OVERLOADED_PREFIX));
    await waitFor(() => answered().length + evicted().length >= 20, { what: "the burst's answers" });
    const shown = () => received.map((r) => JSON.stringify(r.text.slice(0, 40))).join(" ");
    assert.ok(answered().length > 0 && answered().length + evicted().length < 40, shown());
    assert.ok(received.every((r) => r.text.startsWith("busy: ") || r.text.startsWith(PAKE_ANSWER)), shown());
    await realExchange(server, port, ["--secret-file", SECRET]);
  } finally {
    await Promise.all(sockets.map(resetSocket));
  }
  assertCleanOutput(server);
});

tlsTest("a TLS client that sends the first byte of its ClientHello on its own is served", async (c) => {
  const { server, port } = await startServer(["127.0.0.1", "0", ...tlsServerArgs(c)]);
  await using _server = server;
  // Tools that dodge packet inspection split the ClientHello so; one byte cannot tell TLS from text.
  const { raw } = await rudeTlsConnect(port, await Deno.readTextFile(c.ca), { splitFirst: 1, send: "split hello\n" });
  try {
    await server.stdout.waitFor(/^split hello$/);
  } finally {
    await resetSocket(raw);
  }
  assert.doesNotMatch(server.stderr.text, /did not start TLS/);
});

// Handshakes that stall, from several addresses at once.

const ATTACKERS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

tlsTest("stalled TLS handshakes from several addresses never keep a real client out", async (c) => {
  const { server, port } = await startServer(["127.0.0.1", "0", "-k", ...tlsServerArgs(c)]);
  await using _server = server;
  // 48 stalled ClientHellos against 32 places (8 per address), reopened as they are dropped.
  await using crowd = new StallingCrowd(port, {
    sources: ATTACKERS,
    perSource: 16,
    send: PARTIAL_CLIENT_HELLO,
    maxOpened: 3000,
  });
  await waitFor(() => crowd.opened >= 48, { what: "48 stalled connections" });
  await server.stderr.waitFor(/dropped to make room: too many connections in handshake at once/);
  for (let i = 0; i < 3; i++) await realExchange(server, port, ["--tls", "--ca", c.ca]);
  // However many were dropped, the log holds a few lines per address and counts the rest.
  assert.ok(server.stderr.lines.length < 100, `${server.stderr.lines.length} lines in the log`);
  assertCleanOutput(server);
});

for (const stall of ["before the first line", "after the server's answer"] as const) {
  Deno.test(`secure handshakes stalled ${stall} from several addresses never keep a real client out`, async () => {
    const { server, port } = await startServer(["127.0.0.1", "0", "-k", "--secret-file", SECRET]);
    await using _server = server;
    // Each stalls saying nothing, or after its first line (the server answers, and waits for the confirmation).
    const send = stall === "before the first line" ? undefined : encoder.encode(pakeLine());
    await using crowd = new StallingCrowd(port, { sources: ATTACKERS, perSource: 16, maxOpened: 3000, send });
    await waitFor(() => crowd.opened >= 48, { what: "48 stalled connections" });
    await server.stderr.waitFor(/dropped to make room/);
    for (let i = 0; i < 3; i++) await realExchange(server, port, ["--secret-file", SECRET]);
    assertCleanOutput(server);
  });
}

Deno.test("a connection evicted from its handshake is told why, in a busy line", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--secret-file", SECRET]);
  await using _server = server;
  const first = await rudeConnect(port, { from: "127.0.0.2", send: pakeLine() });
  const told = collect(first);
  await waitFor(() => told.text.startsWith(PAKE_ANSWER), { what: "the server's answer" });
  // Eight more from the same address: the ninth is over its share, and the oldest makes room.
  const others: RudeSocket[] = [];
  for (let i = 0; i < 8; i++) others.push(await rudeConnect(port, { from: "127.0.0.2" }));
  try {
    await within(told.closed, WAIT_MS, "the eviction of the oldest handshake");
    const lines = told.text.split("\n");
    assert.ok(lines[0].startsWith(PAKE_ANSWER), `first: ${JSON.stringify(lines[0])}`);
    assert.ok(lines[1].startsWith(OVERLOADED_PREFIX), `then: ${JSON.stringify(lines[1])}`);
    await server.stderr.waitFor(/^127\.0\.0\.2:\d+ dropped to make room: /);
  } finally {
    await Promise.all([first, ...others].map(resetSocket));
  }
  await realExchange(server, port, ["--secret-file", SECRET]);
});

// Blocked writes, and Ctrl+C or SIGTERM.

/** 32 MB of lines: more than loopback socket buffers hold, so a peer that never reads blocks the writer. */
function bulkInput(): Uint8Array {
  const line = encoder.encode("x".repeat(99) + "\n");
  const bytes = new Uint8Array(line.length * 320_000);
  for (let i = 0; i < bytes.length; i += line.length) bytes.set(line, i);
  return bytes;
}

/**
 * Waits until the program at the other end of our connection (`ports`, from
 * our side, which reads nothing) can write no more: what it sent and we did
 * not read stops growing.
 */
async function waitForBlockedWrite(ports: PortPair, who: string): Promise<void> {
  const backlog = async () => (await tcpBacklog(ports)).toUs;
  await waitFor(async () => await backlog() > 0, { what: `${who} to start sending` });
  await waitForSteady(backlog, { what: `${who}'s writes to block on a peer that reads nothing`, quietMs: 300 });
}

/** Sends `signal` to `program` and checks that it exits 0 with the interrupt noted, well within the bound. */
async function assertEndsOnSignal(program: RunningProgram, signal: Deno.Signal): Promise<void> {
  const sent = performance.now();
  program.child.kill(signal);
  // The documented bound is WIND_DOWN_MS; the margin keeps a loaded machine from failing the test.
  await assertCleanExit(program, 0, /^(?:interrupted|\w+: interrupted)/);
  const took = performance.now() - sent;
  assert.ok(took < WIND_DOWN_MS + 3000, `still running ${took} ms after ${signal}`);
}

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  Deno.test(`${signal} ends a duplex server whose peer never reads`, async () => {
    const { server, port } = await startServer(["127.0.0.1", "0", "--duplex"]);
    await using _server = server;
    using peer = await Deno.connect({ hostname: "127.0.0.1", port });
    await server.stderr.waitFor(/^connected: /);
    const feeding = server.write(bulkInput()).catch(() => {});
    // The peer reads nothing: the socket fills, then the server's write blocks.
    await waitForBlockedWrite(portsOf(peer), "the server");
    await assertEndsOnSignal(server, signal);
    assert.match(server.stderr.lines.at(-1)!, /lines? not sent$/);
    await server.closeStdin();
    await feeding;
  });

  Deno.test(`${signal} ends a duplex client whose server never reads`, async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port), "--duplex"]);
    using peer = await listener.accept();
    await client.stderr.waitFor(/^connected to /);
    const feeding = client.write(bulkInput()).catch(() => {});
    await waitForBlockedWrite(portsOf(peer), "the client");
    await assertEndsOnSignal(client, signal);
    await client.closeStdin();
    await feeding;
  });
}

Deno.test("SIGTERM ends a server whose standard output nobody reads while the peer floods", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...compileFlags("server"), "--no-prompt", `${ROOT}server.ts`, "127.0.0.1", "0", "--duplex"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new LineLog(child.stderr);
  const stdin = child.stdin.getWriter();
  try {
    const { match } = await stderr.waitFor(/^listening on \S*:(\d+)/);
    using peer = await Deno.connect({ hostname: "127.0.0.1", port: Number(match[1]) });
    // The peer floods; the server's stdout is a pipe that is never read, so its writes block.
    const flood = encoder.encode("flood\n".repeat(100_000));
    const flooding = (async () => {
      for (let i = 0; i < 100; i++) await writeAll(peer, flood);
    })().catch(() => {});
    // Once its stdout is full, the server stops reading the peer: the flood backs up in the connection.
    await waitForSteady(async () => (await tcpBacklog(portsOf(peer))).toThem, {
      what: "the server to stop reading the peer's flood",
      quietMs: 300,
    });
    const sent = performance.now();
    child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      child.status,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), WAIT_MS)),
    ]);
    clearTimeout(timer);
    const took = performance.now() - sent;
    assert.ok(status !== undefined, "the server did not end");
    assert.equal(status.code, 0);
    assert.ok(took < WIND_DOWN_MS + 3000, `still running ${took} ms after SIGTERM`);
    await stderr.ended();
    assert.match(stderr.lines.at(-1)!, /^server: interrupted: stopped waiting for a blocked write/);
    peer.close();
    await flooding;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already ended.
    }
    await stdin.close().catch(() => {});
    await child.stdout.cancel();
    await child.status;
    await stderr.ended();
  }
});

Deno.test("an idle timeout still shows the peer's last line without its end", async () => {
  const { server, port } = await startServer(["127.0.0.1", "0", "--idle-timeout", "500ms"]);
  await using _server = server;
  using peer = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(peer, encoder.encode("a whole line\nhalf a li"));
  await assertCleanExit(server, 1, /^server: No message with 127\.0\.0\.1:\d+ for 0\.5 s: closed the connection/);
  assert.deepEqual(server.stdout.lines, ["a whole line", "half a li"]);
});
