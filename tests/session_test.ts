import assert from "node:assert/strict";
import type { Reader } from "../lib/io/types.ts";
import { writeAll } from "../lib/io/buffered_writer.ts";
import { ConnectionLostError, ProtocolError } from "../lib/io/errors.ts";
import { InputQueue } from "../lib/session/input_queue.ts";
import { LineReader } from "../lib/wire/line_reader.ts";
import { PlainView } from "../lib/ui/plain_view.ts";
import { runSession, type SessionOptions, type SessionResult } from "../lib/session.ts";
import { StatusWriter } from "../lib/ui/status_writer.ts";
import { ChunkSource, connectedPair, LOOPBACKS, MemorySink, NumberedLinesSource, PushSource } from "./support/net.ts";
import { quietFor, waitFor, waitForSteady } from "./support/wait.ts";

const encoder = new TextEncoder();

/** One side of a conversation: its input, what it printed, and its session. */
interface Side {
  input: InputQueue;
  stdout: MemorySink;
  result: Promise<SessionResult>;
}

function startSide(
  conn: Deno.Conn,
  source: Reader & { cancel?(): Promise<void> },
  options: Partial<SessionOptions> & { speaksFirst: boolean },
): Side {
  const input = new InputQueue(source, { maxLineBytes: options.maxLineBytes ?? 1024 });
  input.start();
  const stdout = new MemorySink();
  const view = new PlainView(stdout, new StatusWriter(new MemorySink()), { interactive: false, peerName: "peer" });
  const result = runSession(conn, input, view, { maxLineBytes: 1024, peerName: "peer", lingerMs: 2000, ...options });
  return { input, stdout, result };
}

async function finish(side: Side): Promise<SessionResult> {
  try {
    return await side.result;
  } finally {
    await side.input.close();
  }
}

function lines(sink: MemorySink): string[] {
  return sink.text.split("\n").slice(0, -1);
}

for (const hostname of LOOPBACKS) {
  Deno.test(`session alternates turns between two sides over ${hostname}`, async () => {
    using pair = await connectedPair(hostname);
    const client = startSide(pair.client, new ChunkSource(["c1\nc2\nc3\n"]), { speaksFirst: true });
    const server = startSide(pair.server, new ChunkSource(["s1\ns2\n"]), { speaksFirst: false });
    const [clientResult, serverResult] = await Promise.all([finish(client), finish(server)]);
    // The server's input ends after s2, so it leaves then; c3, already on its
    // way, still arrives while the server lingers.
    assert.deepEqual(lines(server.stdout), ["c1", "c2", "c3"]);
    assert.deepEqual(lines(client.stdout), ["s1", "s2"]);
    assert.equal(serverResult.end, "input-ended");
    assert.equal(clientResult.sent, 3);
    assert.equal(clientResult.unsent, 0);
    assert.equal(serverResult.unsent, 0);
  });
}

Deno.test("session shows out-of-turn lines at once and sends one queued line per turn", async () => {
  using pair = await connectedPair("127.0.0.1");
  const source = new PushSource();
  const server = startSide(pair.server, source, { speaksFirst: false });
  source.push("x\ny\n");
  const peer = new LineReader(pair.client, { maxLineBytes: 100 });
  await writeAll(pair.client, encoder.encode("a\nb\nc\n"));
  assert.equal(await peer.readLine(), "x");
  await writeAll(pair.client, encoder.encode("d\n"));
  assert.equal(await peer.readLine(), "y");
  pair.client.close();
  const result = await finish(server);
  assert.deepEqual(lines(server.stdout), ["a", "b", "c", "d"]);
  assert.deepEqual([result.end, result.sent, result.received], ["peer-left", 2, 4]);
});

Deno.test("session notices at once that the peer left while it is our turn", async () => {
  using pair = await connectedPair("::1");
  const source = new PushSource();
  const client = startSide(pair.client, source, { speaksFirst: true });
  pair.server.close();
  const result = await finish(client);
  assert.equal(result.end, "peer-left");
  source.push("typed too late\n");
});

Deno.test("session reports queued lines as unsent when the peer leaves", async () => {
  using pair = await connectedPair("127.0.0.1");
  const server = startSide(pair.server, new ChunkSource([]), { speaksFirst: false });
  const source = new PushSource();
  const client = startSide(pair.client, source, { speaksFirst: true });
  source.push("first\nsecond\nthird\n");
  const result = await finish(client);
  await finish(server);
  assert.deepEqual(lines(server.stdout), ["first"]);
  assert.deepEqual([result.end, result.sent, result.unsent], ["peer-left", 1, 2]);
});

Deno.test("session leaves when interrupted and says how many lines were not sent", async () => {
  using pair = await connectedPair("127.0.0.1");
  const controller = new AbortController();
  const source = new PushSource();
  const server = startSide(pair.server, source, { speaksFirst: false, signal: controller.signal });
  source.push("one\ntwo\n");
  await waitFor(() => server.input.queued >= 2, { what: "both lines in the server's queue" });
  controller.abort();
  const peer = new LineReader(pair.client, { maxLineBytes: 100 });
  assert.equal(await peer.readLine(), null);
  pair.client.close();
  const result = await finish(server);
  assert.deepEqual([result.end, result.unsent], ["interrupted", 2]);
});

Deno.test("session whose input is already over waits for its turn, then leaves", async () => {
  using pair = await connectedPair("127.0.0.1");
  const server = startSide(pair.server, new ChunkSource([]), { speaksFirst: false });
  const peer = new LineReader(pair.client, { maxLineBytes: 100 });
  // The other side speaks first: its line is received, and then the turn is ours with nothing to say.
  await writeAll(pair.client, encoder.encode("first words\n"));
  assert.equal(await peer.readLine(), null);
  assert.deepEqual(lines(server.stdout), ["first words"]);
  pair.client.close();
  assert.equal((await finish(server)).end, "input-ended");
});

Deno.test("session ends with a protocol error when the peer sends a line over the limit", async () => {
  using pair = await connectedPair("127.0.0.1");
  const client = startSide(pair.client, new PushSource(), {
    speaksFirst: true,
    maxLineBytes: 100,
    peerName: "[::1]:9",
  });
  await writeAll(pair.server, encoder.encode("fine\n" + "z".repeat(5000)));
  await assert.rejects(finish(client), (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.message, "[::1]:9 sent a line longer than 100 bytes (see --max-line)");
    return true;
  });
  assert.deepEqual(lines(client.stdout), ["fine"]);
});

Deno.test("session reports a connection reset as a lost connection", async () => {
  using pair = await connectedPair("127.0.0.1");
  const source = new PushSource();
  const client = startSide(pair.client, source, { speaksFirst: true, peerName: "srv" });
  source.push("hello\n");
  // Closing with unread data makes the kernel send a reset instead of a FIN.
  await pair.server.read(new Uint8Array(1));
  pair.server.close();
  await assert.rejects(finish(client), (error: unknown) => {
    assert.ok(error instanceof ConnectionLostError);
    assert.match(error.message, /^Connection with srv lost: connection reset by peer$/);
    return true;
  });
});

Deno.test("session reports any I/O failure of its connection as a lost connection, keeping what came first", async () => {
  // A TLS connection whose socket went away under it fails a pending read with
  // Interrupted (no OS code): it once escaped as an uncaught error and killed the server.
  for (const failure of [new Deno.errors.Interrupted("operation canceled"), new Deno.errors.UnexpectedEof("eof")]) {
    using pair = await connectedPair("127.0.0.1");
    let reads = 0;
    const source: Reader = {
      read(p: Uint8Array): Promise<number | null> {
        if (reads++ > 0) return Promise.reject(failure);
        p.set(encoder.encode("before\nhalf"));
        return Promise.resolve(11);
      },
    };
    const side = startSide(pair.client, new PushSource(), { speaksFirst: true, peerName: "srv", source });
    await assert.rejects(finish(side), (error: unknown) => {
      assert.ok(error instanceof ConnectionLostError, `${error}`);
      assert.match(error.message, /^Connection with srv lost: /);
      return true;
    });
    // What was received before the failure is shown, the part of a line too.
    assert.deepEqual(lines(side.stdout), ["before", "half"]);
  }
});

Deno.test("the idle limit does not run out while our own output holds the peer's lines back", async () => {
  using pair = await connectedPair("127.0.0.1");
  // Our stdout takes 150 ms for each write: much longer than the idle limit.
  const written: Uint8Array[] = [];
  const slowStdout = {
    async write(p: Uint8Array): Promise<number> {
      // Only real time can outlast a timer: the idle limit (100 ms) would run out during this.
      await quietFor(150, "a session that counted this wait as idleness would end with an idle timeout");
      written.push(p.slice());
      return p.length;
    },
  };
  const input = new InputQueue(new PushSource(), { maxLineBytes: 1024 });
  input.start();
  const view = new PlainView(slowStdout, new StatusWriter(new MemorySink()), { interactive: false, peerName: "p" });
  const session = runSession(pair.server, input, view, {
    speaksFirst: false,
    maxLineBytes: 1024,
    peerName: "p",
    idleTimeoutMs: 100,
  });
  // 3 MB at once, then the peer's end: the peer was never silent.
  await writeAll(pair.client, encoder.encode(("y".repeat(999) + "\n").repeat(3000)));
  await pair.client.closeWrite();
  try {
    const result = await session;
    assert.equal(result.end, "peer-left");
    assert.equal(result.received, 3000);
    assert.equal(written.reduce((sum, part) => sum + part.length, 0), 3_000_000);
  } finally {
    await input.close();
  }
});

Deno.test("session delivers a final line without newline, U+FFFD for bad UTF-8, and escaped controls", async () => {
  using pair = await connectedPair("::1");
  const client = startSide(pair.client, new PushSource(), { speaksFirst: true });
  await writeAll(pair.server, new Uint8Array([0xc3, 0xa9, 0xff, 0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x0a]));
  await writeAll(pair.server, encoder.encode("bye"));
  pair.server.close();
  const result = await finish(client);
  assert.equal(client.stdout.text, "é\ufffd^[[2J^G\nbye\n");
  assert.equal(result.received, 2);
});

Deno.test("session passes a flood of out-of-turn lines through in order, in few writes", async () => {
  using pair = await connectedPair("127.0.0.1");
  const client = startSide(pair.client, new PushSource(), { speaksFirst: true });
  const expected = Array.from({ length: 20_000 }, (_, i) => `line number ${i}`);
  await writeAll(pair.server, encoder.encode(expected.join("\n") + "\n"));
  pair.server.close();
  const result = await finish(client);
  assert.equal(result.received, expected.length);
  assert.deepEqual(lines(client.stdout), expected);
  assert.ok(client.stdout.writes < expected.length / 20, `${client.stdout.writes} writes`);
});

Deno.test("session refuses an over-long line of ours and sends the next", async () => {
  using pair = await connectedPair("127.0.0.1");
  const client = startSide(pair.client, new ChunkSource([`ok1\n${"L".repeat(50)}\nok2\n`]), {
    speaksFirst: true,
    maxLineBytes: 10,
  });
  const peer = new LineReader(pair.server, { maxLineBytes: 100 });
  assert.equal(await peer.readLine(), "ok1");
  await writeAll(pair.server, encoder.encode("reply\n"));
  assert.equal(await peer.readLine(), "ok2");
  pair.server.close();
  await finish(client);
  assert.equal(client.input.refused, 1);
});

function numbered(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(i));
}

for (const hostname of LOOPBACKS) {
  Deno.test(`duplex sides send many lines both ways at once over ${hostname}`, async () => {
    using pair = await connectedPair(hostname);
    const client = startSide(pair.client, new NumberedLinesSource(20_000), { speaksFirst: true, mode: "duplex" });
    const server = startSide(pair.server, new NumberedLinesSource(15_000), { speaksFirst: false, mode: "duplex" });
    const [clientResult, serverResult] = await Promise.all([finish(client), finish(server)]);
    assert.deepEqual(lines(server.stdout), numbered(20_000));
    assert.deepEqual(lines(client.stdout), numbered(15_000));
    assert.deepEqual([clientResult.sent, clientResult.received], [20_000, 15_000]);
    assert.deepEqual([serverResult.sent, serverResult.received], [15_000, 20_000]);
  });
}

Deno.test("duplex end of input closes only our direction: a reply sent after it still arrives", async () => {
  using pair = await connectedPair("127.0.0.1");
  const client = startSide(pair.client, new ChunkSource(["question 1\nquestion 2\n"]), {
    speaksFirst: true,
    mode: "duplex",
  });
  const peer = new LineReader(pair.server, { maxLineBytes: 100 });
  assert.deepEqual([await peer.readLine(), await peer.readLine(), await peer.readLine()], [
    "question 1",
    "question 2",
    null,
  ]);
  // Well after the client's end of input, the answer goes back: no event marks "still listening".
  await quietFor(200, "a client that stopped reading at its end of input would have closed by then");
  await writeAll(pair.server, encoder.encode("answer 1\nanswer 2\n"));
  pair.server.close();
  const result = await finish(client);
  assert.deepEqual(lines(client.stdout), ["answer 1", "answer 2"]);
  assert.equal(result.end, "peer-left");
});

Deno.test("duplex: when the peer finishes first, our lines still go out until our input ends", async () => {
  using pair = await connectedPair("::1");
  const source = new PushSource();
  const client = startSide(pair.client, source, { speaksFirst: true, mode: "duplex" });
  await writeAll(pair.server, encoder.encode("I am done talking\n"));
  await pair.server.closeWrite();
  const peer = new LineReader(pair.server, { maxLineBytes: 100 });
  source.push("but I am not\n");
  assert.equal(await peer.readLine(), "but I am not");
  source.push("one more\n");
  assert.equal(await peer.readLine(), "one more");
  source.end();
  assert.equal(await peer.readLine(), null);
  const result = await finish(client);
  assert.deepEqual(lines(client.stdout), ["I am done talking"]);
  assert.deepEqual([result.end, result.sent], ["input-ended", 2]);
});

Deno.test("duplex sending waits for a slow reader: input is not read ahead without bound", async () => {
  using pair = await connectedPair("127.0.0.1");
  const source = new NumberedLinesSource(4_000_000);
  const client = startSide(pair.client, source, { speaksFirst: true, mode: "duplex" });
  // The peer reads nothing for a while; the client must stop reading its input.
  await waitFor(() => client.input.queued > 0, { what: "the client to queue its input" });
  await waitForSteady(() => source.consumed, { what: "the client to stop reading its input", quietMs: 200 });
  assert.ok(source.consumed < 16 * 1024 * 1024, `read ${source.consumed} bytes ahead of a reader that reads nothing`);
  assert.ok(client.input.queued > 0);
  // Now read it all: nothing was lost or reordered.
  const peer = new LineReader(pair.server, { maxLineBytes: 100 });
  let expected = 0;
  for (let line = await peer.readLine(); line !== null; line = await peer.readLine()) {
    if (line !== String(expected)) assert.fail(`line ${expected} came as ${line}`);
    expected++;
  }
  assert.equal(expected, 4_000_000);
  pair.server.close();
  assert.equal((await finish(client)).sent, 4_000_000);
});

Deno.test("a duplex side and an alternating side can talk: each line gives the alternating side a turn", async () => {
  using pair = await connectedPair("127.0.0.1");
  const source = new PushSource();
  const client = startSide(pair.client, source, { speaksFirst: true, mode: "duplex" });
  const server = startSide(pair.server, new ChunkSource(["s1\ns2\ns3\n"]), { speaksFirst: false });
  for (const n of [1, 2, 3]) {
    source.push(`c${n}\n`);
    await waitFor(() => lines(client.stdout).length >= n, { what: `the server's line s${n}` });
  }
  source.end();
  await Promise.all([finish(client), finish(server)]);
  assert.deepEqual(lines(server.stdout), ["c1", "c2", "c3"]);
  assert.deepEqual(lines(client.stdout), ["s1", "s2", "s3"]);
});
