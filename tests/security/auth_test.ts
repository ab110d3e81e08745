import assert from "node:assert/strict";
import { AUTH_PREFIX, MAX_AUTH_LINE_BYTES } from "../../lib/wire/protocol.ts";
import {
  authenticateClient,
  authenticateServer,
  AuthError,
  importSecret,
  timingSafeEqual,
} from "../../lib/security/auth.ts";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import { FailureThrottle } from "../../lib/security/failure_throttle.ts";
import { LineReader } from "../../lib/wire/line_reader.ts";
import { connectedPair } from "../support/net.ts";

const encoder = new TextEncoder();
const key = (secret: string) => importSecret(encoder.encode(secret));
const reader = (conn: Deno.Conn) => new LineReader(conn, { maxLineBytes: MAX_AUTH_LINE_BYTES });

Deno.test("auth: both sides with the same secret prove it to each other", async () => {
  using pair = await connectedPair("127.0.0.1");
  await Promise.all([
    authenticateClient(await key("s3cret"), reader(pair.server), pair.server),
    authenticateServer(await key("s3cret"), reader(pair.client), pair.client),
  ]);
});

Deno.test("auth: a wrong secret fails on both sides", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [server, client] = await Promise.allSettled([
    authenticateClient(await key("right secret"), reader(pair.server), pair.server),
    authenticateServer(await key("wrong secret"), reader(pair.client), pair.client),
  ]);
  assert.ok(server.status === "rejected" && server.reason instanceof AuthError);
  assert.equal(server.reason.message, "the client does not know the secret");
  assert.ok(client.status === "rejected" && client.reason instanceof AuthError);
  assert.equal(client.reason.message, "the server does not accept our secret");
});

/** The same connection, with every line it writes also given to `record`. */
function tap(conn: Deno.Conn, record: (line: string) => void): Deno.Conn {
  return Object.assign(Object.create(conn), {
    write: (p: Uint8Array) => {
      record(new TextDecoder().decode(p).trimEnd());
      return conn.write(p);
    },
  });
}

/** Runs a genuine exchange and returns the lines each side wrote. */
async function recordedExchange(secret: CryptoKey): Promise<{ server: string[]; client: string[] }> {
  using pair = await connectedPair("127.0.0.1");
  const lines = { server: [] as string[], client: [] as string[] };
  await Promise.all([
    authenticateClient(secret, reader(pair.server), tap(pair.server, (line) => lines.server.push(line))),
    authenticateServer(secret, reader(pair.client), tap(pair.client, (line) => lines.client.push(line))),
  ]);
  return lines;
}

Deno.test("auth: lines carry only nonces and proofs, never the secret", async () => {
  const secret = "a-secret-that-must-not-appear";
  const { server, client } = await recordedExchange(await key(secret));
  assert.equal(server.length + client.length, 3);
  for (const line of [...server, ...client]) {
    assert.ok(line.startsWith(`${AUTH_PREFIX} `) && !line.includes(secret), line);
  }
});

Deno.test("auth: a recorded client answer replayed to a new challenge is refused", async () => {
  const secret = await key("shared");
  const [answer] = (await recordedExchange(secret)).client;
  using pair = await connectedPair("127.0.0.1");
  const serverDone = authenticateClient(secret, reader(pair.server), pair.server);
  const clientReader = reader(pair.client);
  assert.match((await clientReader.readLine())!, new RegExp(`^${AUTH_PREFIX} challenge `));
  await writeAll(pair.client, encoder.encode(answer + "\n"));
  await assert.rejects(serverDone, /does not know the secret/);
  assert.equal(await clientReader.readLine(), `${AUTH_PREFIX} failed`);
});

Deno.test("auth: a recorded server challenge and proof replayed to a new client are refused", async () => {
  const secret = await key("shared");
  const [challenge, proof] = (await recordedExchange(secret)).server;
  using pair = await connectedPair("127.0.0.1");
  const victim = authenticateServer(secret, reader(pair.client), pair.client);
  await writeAll(pair.server, encoder.encode(challenge + "\n"));
  assert.match((await reader(pair.server).readLine())!, new RegExp(`^${AUTH_PREFIX} response `));
  await writeAll(pair.server, encoder.encode(proof + "\n"));
  await assert.rejects(victim, /the server does not know the secret/);
});

Deno.test("auth: a peer without a secret is told apart from a wrong secret", async () => {
  using pair = await connectedPair("127.0.0.1");
  const serverDone = authenticateClient(await key("x"), reader(pair.server), pair.server);
  assert.match((await reader(pair.client).readLine())!, /challenge/);
  await writeAll(pair.client, encoder.encode("hello, just chatting\n"));
  await assert.rejects(serverDone, /got a chat line \(does the other side use a secret\?\)/);
});

Deno.test("constant-time comparison compares whole arrays", () => {
  assert.ok(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert.ok(!timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert.ok(!timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])));
  assert.ok(!timingSafeEqual(new Uint8Array([1]), undefined));
});

Deno.test("failure throttle doubles the wait per failure, caps it, and forgets", () => {
  let now = 0;
  const throttle = new FailureThrottle({ baseMs: 100, maxMs: 1000, forgetMs: 60_000, now: () => now });
  assert.equal(throttle.delayFor("a"), 0);
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    throttle.failed("a");
    delays.push(throttle.delayFor("a"));
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(throttle.delayFor("b"), 0);
  throttle.succeeded("a");
  assert.equal(throttle.delayFor("a"), 0);
  throttle.failed("a");
  now += 60_001;
  assert.equal(throttle.delayFor("a"), 0);
});

Deno.test("failure throttle remembers a bounded number of addresses", () => {
  const throttle = new FailureThrottle({ maxEntries: 3 });
  for (const address of ["a", "b", "c", "d"]) throttle.failed(address);
  assert.equal(throttle.delayFor("a"), 0);
  assert.ok(throttle.delayFor("d") > 0);
});
