/**
 * Load, in-process so that the sanitizers see every socket and timer: a
 * session keeps every message in order while hundreds of connection attempts
 * arrive at once, each turned away with `busy` and closed.
 */

import { BUSY_PREFIX } from "../../lib/wire/protocol.ts";
import assert from "node:assert/strict";
import { Acceptor } from "../../lib/net/acceptor.ts";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import type { Channel } from "../../lib/io/types.ts";
import { InputQueue } from "../../lib/session/input_queue.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { PlainView } from "../../lib/ui/plain_view.ts";
import { runSession } from "../../lib/session.ts";
import { StatusWriter } from "../../lib/ui/status_writer.ts";
import { MemorySink, NumberedLinesSource } from "../support/net.ts";

const FLOOD = 300;
const LINES = 20_000;

/** Connects, reads until the server closes, and returns what it said. */
async function attempt(port: number): Promise<string[]> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new LineReader(conn, { maxLineBytes: 1024 });
  const lines: string[] = [];
  for (let line = await reader.readLine(); line !== null; line = await reader.readLine()) lines.push(line);
  return lines;
}

Deno.test(`load: ${FLOOD} connection attempts during a session; all turned away, every message in order, no leaks`, async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const acceptor = new Acceptor<{ conn: Channel }>([listener], {
    busyLine: `${BUSY_PREFIX} on 127.0.0.1:${port} is in a session`,
    ready: (channel) => Promise.resolve({ conn: channel }),
    readyMs: 5000,
    maxRejecting: FLOOD,
    // All from one address at once (with the session's peer): this is about turning them away, not the rate limit.
    connectionBurst: FLOOD + 1,
  });
  try {
    using peer = await Deno.connect({ hostname: "127.0.0.1", port });
    const { conn } = (await acceptor.next())!;
    const input = new InputQueue(new NumberedLinesSource(LINES), { maxLineBytes: 100 });
    input.start();
    const stdout = new MemorySink();
    const view = new PlainView(stdout, new StatusWriter(new MemorySink()), { interactive: false, peerName: "peer" });
    const session = runSession(conn, input, view, {
      speaksFirst: false,
      mode: "duplex",
      maxLineBytes: 100,
      peerName: "peer",
    });

    // The peer sends and receives LINES lines while the flood comes in.
    const peerSends = (async () => {
      const text = Array.from({ length: LINES }, (_, i) => `p${i}\n`).join("");
      await writeAll(peer, new TextEncoder().encode(text));
      await peer.closeWrite();
    })();
    const peerReceives = (async () => {
      const reader = new LineReader(peer, { maxLineBytes: 100 });
      let expected = 0;
      for (let line = await reader.readLine(); line !== null; line = await reader.readLine()) {
        if (line !== String(expected)) assert.fail(`line ${expected} arrived as ${line}`);
        expected++;
      }
      return expected;
    })();
    const flood = await Promise.all(Array.from({ length: FLOOD }, () => attempt(port)));

    await peerSends;
    assert.equal(await peerReceives, LINES);
    const result = await session;
    await input.close();
    assert.deepEqual([result.sent, result.received], [LINES, LINES]);
    assert.deepEqual(stdout.text.split("\n").slice(0, -1), Array.from({ length: LINES }, (_, i) => `p${i}`));
    assert.ok(flood.every((lines) => lines.length === 1 && lines[0].startsWith(BUSY_PREFIX)), "every attempt got busy");
  } finally {
    await acceptor.close();
  }
});
