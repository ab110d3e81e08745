/**
 * A peer that misbehaves, against the real client: it vanishes mid-line,
 * resets, half-closes, stalls, sends invalid UTF-8, NUL bytes, a megabyte
 * without a newline. Each gives the documented message and exit code, and
 * every line accepted before the fault is delivered.
 */

import assert from "node:assert/strict";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { portsOf, tcpEnd } from "../support/net.ts";
import { assertExits, type RunningProgram, spawnProgram } from "../support/process.ts";
import { quietFor, waitFor } from "../support/wait.ts";

const encoder = new TextEncoder();
const BEFORE = Array.from({ length: 50 }, (_, i) => `accepted line ${i}`);

/** A raw peer on loopback and a client connected to it, in `mode`. */
async function clientAndPeer(
  args: string[] = [],
): Promise<{ client: RunningProgram; peer: Deno.Conn } & AsyncDisposable> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = spawnProgram("client", ["127.0.0.1", String(listener.addr.port), ...args]);
  const peer = await listener.accept();
  return {
    client,
    peer,
    async [Symbol.asyncDispose]() {
      try {
        peer.close();
      } catch {
        // Closed by the test.
      }
      await client[Symbol.asyncDispose]();
    },
  };
}

async function sendBefore(peer: Deno.Conn): Promise<void> {
  await writeAll(peer, encoder.encode(BEFORE.join("\n") + "\n"));
}

Deno.test("fault: the peer vanishes in the middle of a line: the part is delivered, exit 0", async () => {
  await using side = await clientAndPeer();
  await sendBefore(side.peer);
  await writeAll(side.peer, encoder.encode("half a li"));
  side.peer.close();
  await assertExits(side.client, 0, /^127\.0\.0\.1:\d+ left$/);
  assert.deepEqual(side.client.stdout.lines, [...BEFORE, "half a li"]);
});

Deno.test("fault: the peer resets the connection: exit 1, earlier lines delivered", async () => {
  await using side = await clientAndPeer();
  await sendBefore(side.peer);
  await side.client.write("unread by the peer\n");
  await side.client.stdout.waitForCount(BEFORE.length);
  // Closing with our data unread resets the connection.
  await side.peer.read(new Uint8Array(1));
  side.peer.close();
  await assertExits(side.client, 1, /lost: connection reset by peer$/);
  assert.deepEqual(side.client.stdout.lines, BEFORE);
});

Deno.test("fault: the peer ends its side, then resets a moment later: still a reset, exit 1", async () => {
  await using side = await clientAndPeer();
  await sendBefore(side.peer);
  await side.client.write("unread by the peer\n");
  await side.client.stdout.waitForCount(BEFORE.length);
  await side.peer.read(new Uint8Array(1));
  // The client sees a clean end of stream first; the reset follows as soon as the end has reached
  // its side (which is then in CLOSE_WAIT, "08"), within the moment the client waits for a reset.
  await side.peer.closeWrite();
  const { localPort, remotePort } = portsOf(side.peer);
  await waitFor(async () => (await tcpEnd(remotePort, localPort))?.state === "08", {
    what: "our end of stream to reach the client",
    intervalMs: 2,
  });
  side.peer.close();
  await assertExits(side.client, 1, /lost: connection reset by peer$/);
  assert.deepEqual(side.client.stdout.lines, BEFORE);
});

Deno.test("fault: the peer half-closes: alternating ends as the peer leaving; duplex goes on sending", async () => {
  {
    await using side = await clientAndPeer();
    await sendBefore(side.peer);
    await side.peer.closeWrite();
    await assertExits(side.client, 0, /^127\.0\.0\.1:\d+ left$/);
    assert.deepEqual(side.client.stdout.lines, BEFORE);
  }
  {
    await using side = await clientAndPeer(["--duplex"]);
    await sendBefore(side.peer);
    await side.peer.closeWrite();
    await side.client.stderr.waitFor(/^127\.0\.0\.1:\d+ finished sending$/);
    await side.client.write("still talking to you\n");
    assert.equal(await new LineReader(side.peer, { maxLineBytes: 100 }).readLine(), "still talking to you");
    await side.client.closeStdin();
    await assertExits(side.client, 0, /^end of input: left 127\.0\.0\.1:\d+$/);
    assert.deepEqual(side.client.stdout.lines, BEFORE);
  }
});

Deno.test("fault: the peer stalls: nothing happens until it speaks, or until --idle-timeout", async () => {
  {
    await using side = await clientAndPeer();
    await sendBefore(side.peer);
    await quietFor(1500, "a client that gave up on a silent peer (a default idle limit) would end in this time");
    await writeAll(side.peer, encoder.encode("after a long pause\n"));
    await side.client.stdout.waitFor(/^after a long pause$/);
    side.peer.close();
    await assertExits(side.client, 0, /left$/);
  }
  {
    await using side = await clientAndPeer(["--idle-timeout", "700ms"]);
    await sendBefore(side.peer);
    await assertExits(side.client, 1, /^client: No message with 127\.0\.0\.1:\d+ for 0\.7 s/);
    assert.deepEqual(side.client.stdout.lines, BEFORE);
  }
});

Deno.test("fault: invalid UTF-8 becomes U+FFFD and NUL bytes are shown as ^@; exit 0", async () => {
  await using side = await clientAndPeer();
  await sendBefore(side.peer);
  await writeAll(side.peer, new Uint8Array([0x6f, 0x6b, 0xff, 0xfe, 0x00, 0x00, 0xc3, 0x0a, 0xe2, 0x82, 0x0a]));
  side.peer.close();
  await assertExits(side.client, 0, /left$/);
  assert.deepEqual(side.client.stdout.lines, [...BEFORE, "ok\ufffd\ufffd^@^@\ufffd", "\ufffd"]);
});

Deno.test("fault: a megabyte without a newline ends the session with the limit error; earlier lines delivered", async () => {
  await using side = await clientAndPeer();
  await sendBefore(side.peer);
  const megabyte = new Uint8Array(1024 * 1024).fill(0x78);
  await writeAll(side.peer, megabyte).catch(() => {});
  await assertExits(side.client, 1, /sent a line longer than 65536 bytes \(see --max-line\)$/);
  assert.deepEqual(side.client.stdout.lines, BEFORE);
});
