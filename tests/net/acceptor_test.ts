import assert from "node:assert/strict";
import {
  BUSY_PREFIX,
  CHECKED_BYTES,
  DENIED_PREFIX,
  NEEDS_CODE_PREFIX,
  OVERLOADED_PREFIX,
  RATE_LINE,
  RATE_PREFIX,
  TLS_SERVER_REPLY,
} from "../../lib/wire/protocol.ts";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { Acceptor, type AcceptorOptions } from "../../lib/net/acceptor.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { listen } from "../../lib/net/listen.ts";
import { ListenError, ProtocolError } from "../../lib/io/errors.ts";

const encoder = new TextEncoder();
const BUSY = "busy: in a session";

/** An acceptor whose connections need no handshake. */
function plainAcceptor(
  listeners: Deno.TcpListener[],
  options: Partial<AcceptorOptions<{ conn: Deno.Conn }>> = {},
): Acceptor<{ conn: Deno.Conn }> {
  return new Acceptor(listeners, {
    busyLine: BUSY,
    ready: (_channel, conn) => Promise.resolve({ conn }),
    readyMs: 5000,
    ...options,
  });
}

/** Connects to `port` and returns everything the server sent before closing. */
async function receiveUntilClosed(hostname: string, port: number, send?: string): Promise<string[]> {
  using conn = await Deno.connect({ hostname, port });
  if (send !== undefined) await writeAll(conn, encoder.encode(send));
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  const lines: string[] = [];
  for (let line = await reader.readLine(); line !== null; line = await reader.readLine()) lines.push(line);
  return lines;
}

Deno.test("acceptor turns a second client away with one busy line and leaves the first alone", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const acceptor = plainAcceptor([listener]);
  try {
    using first = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    using session = (await acceptor.next())!.conn;
    // A turned-away client that has already sent something still reads the line.
    assert.deepEqual(await receiveUntilClosed("127.0.0.1", listener.addr.port, "hello\nthere\n"), [BUSY]);
    assert.deepEqual(await receiveUntilClosed("127.0.0.1", listener.addr.port), [BUSY]);
    await writeAll(first, encoder.encode("still here\n"));
    assert.equal(await new LineReader(session, { maxLineBytes: 100 }).readLine(), "still here");
  } finally {
    await acceptor.close();
  }
});

Deno.test("acceptor hands out the next client once the session is released", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const acceptor = plainAcceptor([listener]);
  try {
    const waiting = acceptor.next();
    using a = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    (await waiting)!.conn.close();
    acceptor.release();
    using b = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    using second = (await acceptor.next())!.conn as Deno.TcpConn;
    assert.equal(second.remoteAddr.port, b.localAddr.port);
    assert.notEqual(second.remoteAddr.port, a.localAddr.port);
  } finally {
    await acceptor.close();
  }
});

Deno.test("acceptor stopped while waiting gives null and leaks nothing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const acceptor = plainAcceptor([listener]);
  const waiting = acceptor.next();
  acceptor.stop();
  assert.equal(await waiting, null);
  assert.equal(await acceptor.next(), null);
  await acceptor.close();
});

Deno.test("acceptor turns away a flood of 300 connection attempts during a session", async () => {
  const listener = Deno.listen({ hostname: "::1", port: 0 });
  // All from one address at once: this is about turning them away, not about the rate limit.
  const acceptor = plainAcceptor([listener], { maxRejecting: 1000, connectionBurst: 1000 });
  try {
    using first = await Deno.connect({ hostname: "::1", port: listener.addr.port });
    using session = (await acceptor.next())!.conn;
    const results = await Promise.all(
      Array.from({ length: 300 }, () => receiveUntilClosed("::1", listener.addr.port)),
    );
    assert.ok(results.every((lines) => lines.length === 1 && lines[0] === BUSY));
    await writeAll(first, encoder.encode("after the flood\n"));
    assert.equal(await new LineReader(session, { maxLineBytes: 100 }).readLine(), "after the flood");
  } finally {
    await acceptor.close();
  }
});

Deno.test("listen on every interface takes IPv4 and IPv6 clients on one port", async () => {
  const listeners = listen(undefined, 0);
  const acceptor = plainAcceptor(listeners as Deno.TcpListener[]);
  try {
    const port = listeners[0].addr.port;
    for (const hostname of ["127.0.0.1", "::1"]) {
      using _client = await Deno.connect({ hostname, port });
      (await acceptor.next())!.conn.close();
      acceptor.release();
    }
  } finally {
    await acceptor.close();
  }
});

Deno.test("listen names the address and reason when the port is taken", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert.throws(() => listen("127.0.0.1", taken.addr.port), (error: unknown) => {
    assert.ok(error instanceof ListenError);
    assert.equal(error.message, `Cannot listen on 127.0.0.1:${taken.addr.port}: address already in use`);
    return true;
  });
});

Deno.test("acceptor closes a screened-out connection at once and says why", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dropped: string[] = [];
  const acceptor = plainAcceptor([listener], {
    screen: () => "not welcome",
    onDrop: (message) => dropped.push(message),
  });
  try {
    assert.deepEqual(await receiveUntilClosed("127.0.0.1", listener.addr.port), []);
    assert.match(dropped[0], /^127\.0\.0\.1:\d+ refused: not welcome$/);
  } finally {
    await acceptor.close();
  }
});

Deno.test("acceptor drops a connection whose handshake fails or takes too long, and keeps serving", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const dropped: string[] = [];
  let calls = 0;
  const acceptor = plainAcceptor([listener], {
    readyMs: 300,
    onDrop: (message) => dropped.push(message),
    ready: (_channel, conn) => {
      calls++;
      if (calls === 1) return Promise.reject(new ProtocolError("first one fails"));
      // The second never finishes its handshake: reading waits until the time limit closes it.
      if (calls === 2) return conn.read(new Uint8Array(1)).then(() => ({ conn }));
      return Promise.resolve({ conn });
    },
  });
  try {
    assert.deepEqual(await receiveUntilClosed("127.0.0.1", port), []);
    assert.deepEqual(await receiveUntilClosed("127.0.0.1", port), []);
    assert.equal(dropped[0], "first one fails");
    assert.match(dropped[1], /^127\.0\.0\.1:\d+ dropped: no handshake within 0\.3 s \(--handshake-timeout\)$/);
    using _third = await Deno.connect({ hostname: "127.0.0.1", port });
    (await acceptor.next())!.conn.close();
  } finally {
    await acceptor.close();
  }
});

Deno.test("acceptor: a slow handshake does not make the server look busy to a quick one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const slow = Promise.withResolvers<void>();
  let calls = 0;
  const acceptor = plainAcceptor([listener], {
    ready: async (_channel, conn) => {
      if (++calls === 1) await slow.promise;
      return { conn };
    },
  });
  try {
    using _slow = await Deno.connect({ hostname: "127.0.0.1", port });
    using quick = await Deno.connect({ hostname: "127.0.0.1", port });
    using session = (await acceptor.next())!.conn as Deno.TcpConn;
    assert.equal(session.remoteAddr.port, quick.localAddr.port);
    // Once the slow one is ready, the session is taken: it is turned away.
    slow.resolve();
    const reader = new LineReader(_slow, { maxLineBytes: 100 });
    assert.equal(await reader.readLine(), BUSY);
  } finally {
    await acceptor.close();
  }
});

Deno.test("acceptor: a connection over its address's rate gets one line and is closed, with no handshake", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let readied = 0;
  const acceptor = plainAcceptor([listener], {
    connectionBurst: 1,
    connectionsPerSecond: 0.001,
    ready: (_channel, conn) => {
      readied++;
      return Promise.resolve({ conn });
    },
  });
  try {
    using first = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    using _session = (await acceptor.next())!.conn;
    assert.deepEqual(await receiveUntilClosed("127.0.0.1", listener.addr.port), [RATE_LINE]);
    assert.equal(readied, 1);
    first.close();
  } finally {
    await acceptor.close();
  }
});

Deno.test("every notice a client recognises fits in the start it looks at", () => {
  for (
    const prefix of [BUSY_PREFIX, DENIED_PREFIX, OVERLOADED_PREFIX, RATE_PREFIX, TLS_SERVER_REPLY, NEEDS_CODE_PREFIX]
  ) {
    assert.ok(new TextEncoder().encode(prefix).length <= CHECKED_BYTES, prefix);
  }
});
