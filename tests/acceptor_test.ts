import assert from "node:assert/strict";
import { writeAll } from "../lib/buffered_writer.ts";
import { Acceptor } from "../lib/acceptor.ts";
import { LineReader } from "../lib/line_reader.ts";
import { listen } from "../lib/listen.ts";
import { ListenError } from "../lib/errors.ts";

const encoder = new TextEncoder();
const BUSY = "busy: in a session";

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
  const acceptor = new Acceptor([listener], { busyLine: BUSY });
  try {
    using first = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    using session = (await acceptor.next())!;
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
  const acceptor = new Acceptor([listener], { busyLine: BUSY });
  try {
    const waiting = acceptor.next();
    using a = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    (await waiting)!.close();
    acceptor.release();
    using b = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    using second = (await acceptor.next())!;
    assert.equal(second.remoteAddr.port, b.localAddr.port);
    assert.notEqual(second.remoteAddr.port, a.localAddr.port);
  } finally {
    await acceptor.close();
  }
});

Deno.test("acceptor stopped while waiting gives null and leaks nothing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const acceptor = new Acceptor([listener], { busyLine: BUSY });
  const waiting = acceptor.next();
  acceptor.stop();
  assert.equal(await waiting, null);
  assert.equal(await acceptor.next(), null);
  await acceptor.close();
});

Deno.test("acceptor turns away a flood of 300 connection attempts during a session", async () => {
  const listener = Deno.listen({ hostname: "::1", port: 0 });
  const acceptor = new Acceptor([listener], { busyLine: BUSY, maxRejecting: 1000 });
  try {
    using first = await Deno.connect({ hostname: "::1", port: listener.addr.port });
    using session = (await acceptor.next())!;
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
  const acceptor = new Acceptor(listeners, { busyLine: BUSY });
  try {
    const port = listeners[0].addr.port;
    for (const hostname of ["127.0.0.1", "::1"]) {
      using _client = await Deno.connect({ hostname, port });
      (await acceptor.next())!.close();
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
