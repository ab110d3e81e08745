import assert from "node:assert/strict";
import { BusyError } from "../../lib/io/errors.ts";
import { RecordWriter } from "../../lib/security/record.ts";
import { SecureChannel } from "../../lib/security/secure_channel.ts";
import type { DirectionKeys } from "../../lib/security/session_keys.ts";
import { connectedPair } from "../support/net.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function newKeys(): DirectionKeys {
  return { key: crypto.getRandomValues(new Uint8Array(32)), iv: crypto.getRandomValues(new Uint8Array(12)) };
}

/** Reads from `channel` once, failing after `ms` instead of waiting for ever. */
async function readWithin(channel: SecureChannel, ms: number): Promise<string> {
  const buffer = new Uint8Array(1024);
  const timeout = AbortSignal.timeout(ms);
  const read = channel.read(buffer);
  const n = await Promise.race([
    read,
    new Promise<never>((_, reject) =>
      timeout.addEventListener("abort", () => reject(new Error(`no read in ${ms} ms`)))
    ),
  ]);
  return n === null ? "<end>" : decoder.decode(buffer.subarray(0, n));
}

Deno.test("secure channel: a read that takes DATA then an ACK already in hands the DATA over, without waiting for more", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [aToB, bToA] = [newKeys(), newKeys()];
  const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b");
  await a.write(encoder.encode("question\n"));
  // The other side, record by record: an answer, then the acknowledgement of A's record, in one read's reach.
  const b = new RecordWriter(pair.server, bToA);
  await b.sendData(encoder.encode("answer\n"));
  await b.sendAck(0);
  let confirmed = 0;
  a.onConfirmed((bytes) => confirmed += bytes);
  // A read that, after the ACK, waited on the network would hold the answer: nothing more comes here.
  assert.equal(await readWithin(a, 2000), "answer\n");
  assert.equal(confirmed, "question\n".length);
  assert.equal(a.unconfirmed, 0);
  a.close();
});

Deno.test("secure channel: an ACK naming a record never sent ends the session", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [aToB, bToA] = [newKeys(), newKeys()];
  const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b");
  const b = new RecordWriter(pair.server, bToA);
  await b.sendAck(5);
  await assert.rejects(a.read(new Uint8Array(64)), /acknowledged record 5, which was never sent/);
  a.close();
});

Deno.test("secure channel: an answer written at once confirms the question it answers", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [aToB, bToA] = [newKeys(), newKeys()];
  const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b");
  const b = new SecureChannel(pair.server, pair.server, bToA, aToB, "a");
  await a.write(encoder.encode("ping\n"));
  assert.equal(await readWithin(b, 2000), "ping\n");
  let confirmed = 0;
  a.onConfirmed((bytes) => confirmed += bytes);
  // B asks for more (so it owes an ACK), then answers at once: the ACK rides with the answer.
  const more = b.read(new Uint8Array(64));
  await b.write(encoder.encode("pong\n"));
  assert.equal(await readWithin(a, 2000), "pong\n");
  assert.equal(confirmed, 5);
  a.close();
  b.close();
  await more.catch(() => {});
});

Deno.test("secure channel: a plain line where the first record belongs is the caller's error when it knows the line", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [aToB, bToA] = [newKeys(), newKeys()];
  const known = (line: string) => line.startsWith("busy: ") ? new BusyError("b is busy") : undefined;
  const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b", known);
  await pair.server.write(
    encoder.encode("busy: the parley server on 127.0.0.1:4747 is in a session; try again later\n"),
  );
  await assert.rejects(
    a.read(new Uint8Array(64)),
    (error) => error instanceof BusyError && error.message === "b is busy",
  );
  // The peer is gone with the same error, and a line it does not know is still quoted.
  assert.ok((await a.peerGone) instanceof BusyError);
  a.close();
  using other = await connectedPair("127.0.0.1");
  const c = new SecureChannel(other.client, other.client, aToB, bToA, "b", known);
  await other.server.write(encoder.encode("hello there\n"));
  await assert.rejects(c.read(new Uint8Array(64)), /records belong: "hello there"$/);
  c.close();
});

Deno.test("secure channel: a plain line that comes in parts is taken whole; cut short by the end, its start is quoted", async () => {
  const [aToB, bToA] = [newKeys(), newKeys()];
  const known = (line: string) => line.startsWith("busy: the parley server") ? new BusyError("b is busy") : undefined;
  {
    using pair = await connectedPair("127.0.0.1");
    const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b", known);
    const reading = a.read(new Uint8Array(64));
    await pair.server.write(encoder.encode("busy: the"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pair.server.write(encoder.encode(" parley server on 127.0.0.1:4747 is in a session; try again later\n"));
    await assert.rejects(reading, (error) => error instanceof BusyError);
    a.close();
  }
  {
    using pair = await connectedPair("127.0.0.1");
    const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b", known);
    await pair.server.write(encoder.encode("busy: the"));
    await pair.server.closeWrite();
    await assert.rejects(a.read(new Uint8Array(64)), /records belong: "busy: the"$/);
    a.close();
  }
});

Deno.test("secure channel: a plain line where the first record belongs (a server turning us away) is quoted", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [aToB, bToA] = [newKeys(), newKeys()];
  const a = new SecureChannel(pair.client, pair.client, aToB, bToA, "b");
  await pair.server.write(
    encoder.encode("busy: the parley server on 127.0.0.1:4747 is in a session; try again later\n"),
  );
  await assert.rejects(
    a.read(new Uint8Array(64)),
    /the other side sent a line where its records belong: "busy: the parley server on 127\.0\.0\.1:4747 is in a session; try again later"$/,
  );
  a.close();
});
