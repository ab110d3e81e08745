import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import {
  type DirectionKeys,
  MAX_RECORD_BODY,
  MAX_RECORD_CIPHERTEXT,
  type ParleyRecord,
  RECORD_READ_BYTES,
  RecordError,
  RecordReader,
  RecordType,
  RecordWriter,
} from "../../lib/security/record.ts";
import { writeAll } from "../../lib/io/buffered_writer.ts";
import type { Reader, Writer } from "../../lib/io/types.ts";
import { concatBytes } from "../support/escaped.ts";
import { connectedPair } from "../support/net.ts";

const encoder = new TextEncoder();
const lines = (text: string): Uint8Array => encoder.encode(text);
const NOT_AUTHENTIC = /^a record did not authenticate: the connection was altered, or a record was dropped, replayed/;
const CUT = /^the connection was cut in the middle of a record$/;

/** Fresh keys for one direction: a random ChaCha20-Poly1305 key and a random IV. */
function newKeys(): Promise<DirectionKeys> {
  return Promise.resolve({
    key: crypto.getRandomValues(new Uint8Array(32)),
    iv: crypto.getRandomValues(new Uint8Array(12)),
  });
}

/**
 * Seals one record as the spec in lib/security/record.ts words it, written
 * apart from the module: for known answers and for records its writer refuses.
 */
async function seal(keys: DirectionKeys, seq: number, type: number, body: Uint8Array): Promise<Uint8Array> {
  const plain = new Uint8Array(1 + body.length);
  plain[0] = type;
  plain.set(body, 1);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, plain.length + 16);
  const counter = new Uint8Array(12);
  new DataView(counter.buffer).setBigUint64(4, BigInt(seq));
  const nonce = keys.iv.map((byte, i) => byte ^ counter[i]);
  const cipher = createCipheriv("chacha20-poly1305", keys.key, nonce, { authTagLength: 16 });
  cipher.setAAD(header, { plaintextLength: plain.length });
  const ciphertext = concatBytes([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return await Promise.resolve(concatBytes([header, ciphertext]));
}

/** Seals records 0, 1, … of `[type, body]` as one byte string. */
async function sealAll(keys: DirectionKeys, records: [number, Uint8Array][]): Promise<Uint8Array> {
  return concatBytes(await Promise.all(records.map(([type, body], seq) => seal(keys, seq, type, body))));
}

/** Splits a stream of whole records at their headers. */
function splitRecords(bytes: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length;) {
    const end = at + 4 + view.getUint32(at);
    records.push(bytes.subarray(at, end));
    at = end;
  }
  return records;
}

async function readAll(source: Reader): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await source.read(buf);
    if (n === null) return concatBytes(parts);
    parts.push(buf.slice(0, n));
  }
}

/** A source that counts its reads and bytes, and hands out at most `most` bytes a read. */
class Counted implements Reader {
  reads = 0;
  bytes = 0;
  constructor(private readonly source: Reader, private readonly most = Infinity) {}
  async read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    const n = await this.source.read(p.subarray(0, Math.min(p.length, this.most)));
    if (n !== null) this.bytes += n;
    return n;
  }
}

/** A sink that passes every write to `sink` and keeps a copy of the bytes. */
class Tap implements Writer {
  writes = 0;
  parts: Uint8Array[] = [];
  constructor(private readonly sink: Writer) {}
  async write(p: Uint8Array): Promise<number> {
    this.writes++;
    const n = await this.sink.write(p);
    this.parts.push(p.slice(0, n));
    return n;
  }
}

/** What a reader gave before it stopped: the records, and the error if it failed. */
interface Outcome {
  records: ParleyRecord[];
  error?: unknown;
}

async function drain(reader: RecordReader): Promise<Outcome> {
  const records: ParleyRecord[] = [];
  try {
    for (let record = await reader.next(); record !== null; record = await reader.next()) records.push(record);
    return { records };
  } catch (error) {
    return { records, error };
  }
}

function assertRecordError(outcome: Outcome, message: RegExp): void {
  assert.ok(outcome.error instanceof RecordError, `expected a RecordError, got ${outcome.error}`);
  assert.match(outcome.error.message, message);
  assert.equal(outcome.error.exitCode, 1);
}

/** Bytes given straight to a reader over a real socket; the sending end stays open unless `end`. */
async function readRaw(bytes: Uint8Array, keys: DirectionKeys, end = true): Promise<Outcome & { read: Counted }> {
  using pair = await connectedPair("127.0.0.1");
  const read = new Counted(pair.server);
  const [, outcome] = await Promise.all([
    (async () => {
      await writeAll(pair.client, bytes);
      if (end) await pair.client.closeWrite();
    })(),
    drain(new RecordReader(read, keys)),
  ]);
  return { ...outcome, read };
}

/**
 * Sends records with a {@linkcode RecordWriter} through a man in the middle:
 * a TCP relay that takes the whole stream, splits it into records, lets
 * `alter` change them, and passes on the result to the reader.
 */
async function throughRelay(
  send: (writer: RecordWriter) => Promise<void>,
  alter: (records: Uint8Array[]) => Uint8Array[],
): Promise<Outcome & { sent: Uint8Array[] }> {
  const keys = await newKeys();
  using near = await connectedPair("127.0.0.1");
  using far = await connectedPair("127.0.0.1");
  let sent: Uint8Array[] = [];
  const [, , outcome] = await Promise.all([
    (async () => {
      await send(new RecordWriter(near.client, keys));
      await near.client.closeWrite();
    })(),
    (async () => {
      sent = splitRecords(await readAll(near.server));
      await writeAll(far.client, concatBytes(alter(sent.map((record) => record.slice()))));
      await far.client.closeWrite();
    })(),
    drain(new RecordReader(far.server, keys)),
  ]);
  return { ...outcome, sent };
}

/** Sends DATA records "line 0\n" … "line 4\n". */
async function fiveLines(writer: RecordWriter): Promise<void> {
  for (let i = 0; i < 5; i++) await writer.sendData(lines(`line ${i}\n`));
}

const bodies = (outcome: Outcome): string[] => outcome.records.map((record) => new TextDecoder().decode(record.body));

Deno.test("record: every type goes round a real socket with its sequence number", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const writer = new RecordWriter(pair.client, keys);
  const reader = new RecordReader(pair.server, keys);
  const seqs = [
    await writer.sendData(lines("hello\nworld\n")),
    await writer.sendAck(0),
    await writer.sendAck(2 ** 48 - 1),
    await writer.sendEnd(),
    await writer.sendAck(7),
    await writer.sendLeave(),
  ];
  assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5]);
  assert.equal(writer.sent, 6);
  await pair.client.closeWrite();
  const outcome = await drain(reader);
  assert.equal(outcome.error, undefined);
  assert.deepEqual(
    outcome.records.map((record) => [record.type, record.seq, record.type === RecordType.Ack ? record.acked : -1]),
    [[1, 0, -1], [2, 1, 0], [2, 2, 2 ** 48 - 1], [3, 3, -1], [2, 4, 7], [4, 5, -1]],
  );
  assert.equal(bodies(outcome)[0], "hello\nworld\n");
  assert.equal(outcome.records[3].body.length, 0);
  assert.equal(reader.received, 6);
  assert.equal(await reader.next(), null, "the end stays the end");
});

Deno.test("record: the bytes on the wire are exactly the spec's, one write call per record", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const tap = new Tap(pair.client);
  const writer = new RecordWriter(tap, keys);
  const big = new Uint8Array(MAX_RECORD_BODY).fill(0x61);
  big[MAX_RECORD_BODY - 1] = 0x0a;
  await writer.sendData(lines("one\n"));
  await writer.sendAck(0);
  await writer.sendData(big);
  await writer.sendEnd();
  await writer.sendLeave();
  await pair.client.closeWrite();
  const wire = await readAll(pair.server);
  const expected = await sealAll(keys, [[1, lines("one\n")], [2, new Uint8Array(8)], [1, big], [3, new Uint8Array()], [
    4,
    new Uint8Array(),
  ]]);
  assert.deepEqual(wire, expected);
  assert.equal(splitRecords(wire)[2].length, 4 + MAX_RECORD_CIPHERTEXT);
  assert.equal(tap.writes, 5, "header and ciphertext go out in one write");
});

Deno.test("record: many records arrive in one read and come out one by one", async () => {
  const keys = await newKeys();
  const records: [number, Uint8Array][] = Array.from({ length: 200 }, (_, i) => [1, lines(`${i}\n`)]);
  const outcome = await readRaw(await sealAll(keys, records), keys);
  assert.equal(outcome.error, undefined);
  assert.equal(outcome.records.length, 200);
  assert.deepEqual(bodies(outcome), records.map((_, i) => `${i}\n`));
  assert.deepEqual(outcome.records.map((record) => record.seq), records.map((_, i) => i));
  assert.ok(outcome.read.reads <= 10, `200 records of ${outcome.read.bytes} bytes took ${outcome.read.reads} reads`);
});

Deno.test("record: one record over many one-byte reads", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const text = "x".repeat(999) + "\n";
  const read = new Counted(pair.server, 1);
  const writer = new RecordWriter(pair.client, keys);
  await writer.sendData(lines(text));
  await writer.sendEnd();
  await pair.client.closeWrite();
  const outcome = await drain(new RecordReader(read, keys));
  assert.equal(outcome.error, undefined);
  assert.deepEqual(bodies(outcome), [text, ""]);
  assert.ok(read.reads > 1000);
});

Deno.test("record: a man in the middle who flips one bit of a body is caught at that record", async () => {
  const outcome = await throughRelay(fiveLines, (records) => {
    records[2][10] ^= 0x01;
    return records;
  });
  assertRecordError(outcome, NOT_AUTHENTIC);
  assert.deepEqual(bodies(outcome), ["line 0\n", "line 1\n"]);
});

Deno.test("record: a bit flipped in a header, or in the tag, is caught", async () => {
  for (const flip of [(r: Uint8Array) => r[3] ^= 0x01, (r: Uint8Array) => r[r.length - 1] ^= 0x80]) {
    const outcome = await throughRelay(fiveLines, (records) => {
      flip(records[1]);
      return records;
    });
    assert.ok(outcome.error instanceof RecordError, `got ${outcome.error}`);
    assert.deepEqual(bodies(outcome), ["line 0\n"]);
  }
});

Deno.test("record: a dropped record is caught at the next one", async () => {
  const outcome = await throughRelay(fiveLines, (records) => records.filter((_, i) => i !== 1));
  assertRecordError(outcome, NOT_AUTHENTIC);
  assert.deepEqual(bodies(outcome), ["line 0\n"]);
});

Deno.test("record: a duplicated (replayed) record is caught", async () => {
  const outcome = await throughRelay(fiveLines, (records) => [...records.slice(0, 2), records[1], ...records.slice(2)]);
  assertRecordError(outcome, NOT_AUTHENTIC);
  assert.deepEqual(bodies(outcome), ["line 0\n", "line 1\n"]);
});

Deno.test("record: two records swapped are caught", async () => {
  const outcome = await throughRelay(fiveLines, ([a, b, c, ...rest]) => [a, c, b, ...rest]);
  assertRecordError(outcome, NOT_AUTHENTIC);
  assert.deepEqual(bodies(outcome), ["line 0\n"]);
});

Deno.test("record: a stream cut in the middle of a record is an error, never a short body", async () => {
  for (const keep of [1, 3, 4, 5, 20]) {
    const outcome = await throughRelay(fiveLines, (records) => [records[0], records[1].subarray(0, keep)]);
    assertRecordError(outcome, CUT);
    assert.deepEqual(bodies(outcome), ["line 0\n"]);
  }
});

Deno.test("record: a stream cut at a record boundary ends cleanly: the caller judges it (LEAVE is the goodbye)", async () => {
  const outcome = await throughRelay(fiveLines, (records) => records.slice(0, 3));
  assert.equal(outcome.error, undefined);
  assert.deepEqual(bodies(outcome), ["line 0\n", "line 1\n", "line 2\n"]);
});

Deno.test("record: records reflected back to their sender do not authenticate", async () => {
  using pair = await connectedPair("127.0.0.1");
  const [outbound, inbound] = [await newKeys(), await newKeys()];
  const writer = new RecordWriter(pair.client, outbound);
  const reader = new RecordReader(pair.client, inbound);
  const [, , outcome] = await Promise.all([
    (async () => {
      await fiveLines(writer);
      await pair.client.closeWrite();
    })(),
    // The man in the middle echoes the client's records back to it.
    (async () => {
      await writeAll(pair.server, await readAll(pair.server));
      await pair.server.closeWrite();
    })(),
    drain(reader),
  ]);
  assertRecordError(outcome, NOT_AUTHENTIC);
  assert.equal(outcome.records.length, 0);
});

Deno.test("record: the other direction's keys, or the right key with the other IV, do not open a record", async () => {
  const [mine, theirs] = [await newKeys(), await newKeys()];
  const wire = await sealAll(mine, [[1, lines("secret\n")]]);
  for (const keys of [theirs, { key: mine.key, iv: theirs.iv }, { key: theirs.key, iv: mine.iv }]) {
    const outcome = await readRaw(wire, keys);
    assertRecordError(outcome, NOT_AUTHENTIC);
    assert.equal(outcome.records.length, 0);
  }
});

Deno.test("record: a hostile length header is refused at once, before its bytes come or anything is allocated", async () => {
  const keys = await newKeys();
  for (const length of [0xffffffff, 0, 16, MAX_RECORD_CIPHERTEXT + 1, 0x80000000]) {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, length);
    // The sender keeps the connection open: the reader must not wait for the announced bytes.
    const outcome = await readRaw(header, keys, false);
    assertRecordError(outcome, new RegExp(`^a record header announced ${length} bytes; a record holds 17 to 65553$`));
    assert.equal(outcome.read.bytes, 4);
  }
});

Deno.test("record: a flood of garbage records of a valid length ends at the first, reading boundedly", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const garbage = new Uint8Array(4 + MAX_RECORD_CIPHERTEXT);
  crypto.getRandomValues(garbage.subarray(0, 65536));
  crypto.getRandomValues(garbage.subarray(65536));
  new DataView(garbage.buffer).setUint32(0, MAX_RECORD_CIPHERTEXT);
  const read = new Counted(pair.server);
  const reader = new RecordReader(read, keys);
  let flooded = 0;
  const flood = (async () => {
    try {
      for (; flooded < 64 * 1024 * 1024; flooded += garbage.length) await writeAll(pair.client, garbage);
    } catch {
      // The reader hung up on the flood.
    }
  })();
  const outcome = await drain(reader);
  assertRecordError(outcome, NOT_AUTHENTIC);
  assert.equal(outcome.records.length, 0);
  assert.ok(read.bytes <= 2 * reader.capacity, `read ${read.bytes} bytes of the flood`);
  assert.equal(reader.capacity, RECORD_READ_BYTES);
  await assert.rejects(reader.next(), (error) => error === outcome.error, "the failure sticks");
  pair.server.close();
  await flood;
});

Deno.test("record: the plaintext never appears on the wire", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const tap = new Tap(pair.client);
  const writer = new RecordWriter(tap, keys);
  const line = "attack at dawn, bring the secret password\n";
  const [, outcome] = await Promise.all([
    (async () => {
      for (let i = 0; i < 50; i++) await writer.sendData(lines(line.repeat(i + 1)));
      await writer.sendLeave();
      await pair.client.closeWrite();
    })(),
    drain(new RecordReader(pair.server, keys)),
  ]);
  assert.equal(outcome.error, undefined);
  assert.equal(bodies(outcome)[49], line.repeat(50));
  const wire = new TextDecoder("latin1").decode(concatBytes(tap.parts));
  for (const piece of ["attack", "dawn", "secret", "password"]) assert.ok(!wire.includes(piece), piece);
});

Deno.test("record: records that break the rules of the types are refused after the ones before", async () => {
  const keys = await newKeys();
  const none = new Uint8Array();
  const cases: [string, [number, Uint8Array][], RegExp][] = [
    ["DATA after END", [[1, lines("a\n")], [3, none], [1, lines("b\n")]], /^a DATA record came after END$/],
    ["a second END", [[1, lines("a\n")], [3, none], [3, none]], /^a END record came after END$/],
    ["DATA after LEAVE", [[1, lines("a\n")], [4, none], [1, lines("b\n")]], /^a DATA record came after LEAVE$/],
    ["ACK after LEAVE", [[1, lines("a\n")], [4, none], [2, new Uint8Array(8)]], /^a ACK record came after LEAVE$/],
    ["LEAVE after LEAVE", [[1, lines("a\n")], [4, none], [4, none]], /^a LEAVE record came after LEAVE$/],
    ["type 0", [[1, lines("a\n")], [0, none]], /^received a record of unknown type 0$/],
    ["type 6", [[1, lines("a\n")], [6, lines("b\n")]], /^received a record of unknown type 6$/],
    [
      "DATA+ACK without data",
      [[1, lines("a\n")], [5, new Uint8Array(8)]],
      /^received a DATA\+ACK record without data$/,
    ],
    ["type 255", [[1, lines("a\n")], [255, none]], /^received a record of unknown type 255$/],
    ["a short ACK", [[1, lines("a\n")], [2, new Uint8Array(7)]], /^received an ACK record of 7 bytes instead of 8$/],
    ["a long ACK", [[1, lines("a\n")], [2, new Uint8Array(9)]], /^received an ACK record of 9 bytes instead of 8$/],
    ["an ACK past 2^48", [[1, lines("a\n")], [2, new Uint8Array(8).fill(0xff)]], /^an ACK record named record/],
    ["END with a body", [[1, lines("a\n")], [3, lines("b\n")]], /^received an END record with a body of 2 bytes/],
    ["LEAVE with a body", [[1, lines("a\n")], [4, new Uint8Array(1)]], /^received an LEAVE record with a body of 1/],
    ["empty DATA", [[1, lines("a\n")], [1, none]], /^received a DATA record with an empty body$/],
    [
      "DATA over the limit",
      [[1, lines("a\n")], [1, new Uint8Array(MAX_RECORD_BODY + 1).fill(0x0a)]],
      /^a record header announced 65554 bytes/,
    ],
  ];
  for (const [name, records, message] of cases) {
    const outcome = await readRaw(await sealAll(keys, records), keys);
    assertRecordError(outcome, message);
    assert.ok(outcome.records.length >= 1, name);
    assert.equal(bodies(outcome)[0], "a\n", name);
  }
});

Deno.test("record: ACKs and LEAVE may follow END", async () => {
  const keys = await newKeys();
  const ack = new Uint8Array(8);
  ack[7] = 1;
  const wire = await sealAll(keys, [[1, lines("a\n")], [3, new Uint8Array()], [2, ack], [4, new Uint8Array()]]);
  const outcome = await readRaw(wire, keys);
  assert.equal(outcome.error, undefined);
  assert.deepEqual(outcome.records.map((record) => record.type), [1, 3, 2, 4]);
  assert.equal(outcome.records[2].type === RecordType.Ack && outcome.records[2].acked, 1);
});

Deno.test("record: the writer refuses what the format forbids", async () => {
  using pair = await connectedPair("127.0.0.1");
  const writer = new RecordWriter(pair.client, await newKeys());
  await assert.rejects(writer.sendData(new Uint8Array()), RangeError);
  await assert.rejects(writer.sendData(new Uint8Array(MAX_RECORD_BODY + 1).fill(0x0a)), RangeError);
  await assert.rejects(writer.sendAck(-1), RangeError);
  await assert.rejects(writer.sendAck(2 ** 48), RangeError);
  await assert.rejects(writer.sendAck(1.5), RangeError);
  await assert.rejects(writer.send(7 as RecordType, new Uint8Array()), RangeError);
  await assert.rejects(writer.send(RecordType.End, lines("x\n")), RangeError);
  assert.equal(writer.sent, 0, "a refused record takes no number");
  await writer.sendEnd();
  await assert.rejects(writer.sendData(lines("late\n")), /cannot send: a DATA record came after END/);
  await assert.rejects(writer.sendEnd(), /after END/);
  await writer.sendAck(0);
  await writer.sendLeave();
  await assert.rejects(writer.sendAck(0), /cannot send: a ACK record came after LEAVE/);
  assert.equal(writer.sent, 3);
});

Deno.test("record: keys of the wrong shape are refused", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  assert.throws(() => new RecordWriter(pair.client, { key: keys.key, iv: new Uint8Array(11) }), RangeError);
  assert.throws(() => new RecordReader(pair.server, { key: new Uint8Array(16), iv: keys.iv }), RangeError);
  assert.throws(() => new RecordWriter(pair.client, { key: new Uint8Array(33), iv: keys.iv }), RangeError);
});

Deno.test("record: overlapping sends go out in the order of the calls", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const writer = new RecordWriter(pair.client, keys);
  const body = lines("y".repeat(60_000) + "\n");
  // A large DATA record and small ACKs at once: the small ones must not overtake it.
  const seqs = await Promise.all([
    writer.sendData(body),
    writer.sendAck(0),
    writer.sendData(lines("z\n")),
    writer.sendAck(2),
  ]);
  assert.deepEqual(seqs, [0, 1, 2, 3]);
  await pair.client.closeWrite();
  const outcome = await drain(new RecordReader(pair.server, keys));
  assert.equal(outcome.error, undefined);
  assert.deepEqual(outcome.records.map((record) => [record.type, record.seq]), [[1, 0], [2, 1], [1, 2], [2, 3]]);
});

Deno.test("record: batches of a bulk transfer reuse their buffers only once written, and arrive intact", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  // A sink that takes at most 64 KiB a call, a millisecond apart: a 1 MiB batch is written over 16 ms or more.
  const slow: Writer = {
    write: async (p) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return await pair.client.write(p.subarray(0, 64 * 1024));
    },
  };
  const writer = new RecordWriter(slow, keys);
  const batch = 1024 * 1024;
  const batches = 12;
  const reading = drain(new RecordReader(pair.server, keys)).then((outcome) => {
    // A reader that stopped early stops reading: the writer's next writes then fail, not wait.
    if (outcome.error !== undefined) pair.server.close();
    return outcome;
  });
  // A new batch every 3 ms, while those before are still being written: a buffer handed out again before its batch
  // was written in full would be sealed over, and its records would not authenticate.
  const sends: Promise<number>[] = [];
  for (let i = 0; i < batches; i++) {
    sends.push(writer.sendLines(new Uint8Array(batch).fill(0x61 + i)));
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  const sent = await Promise.allSettled(sends);
  if (sent.every((result) => result.status === "fulfilled")) {
    await writer.sendLeave();
    await pair.client.closeWrite();
  }
  const outcome = await reading;
  assert.equal(outcome.error, undefined);
  const data = outcome.records.filter((record) => record.type === RecordType.Data);
  assert.equal(data.length, batches * batch / MAX_RECORD_BODY);
  data.forEach((record, i) => {
    const fill = 0x61 + Math.floor(i / (batch / MAX_RECORD_BODY));
    assert.ok(record.body.every((byte) => byte === fill), `record ${record.seq} holds another batch's bytes`);
  });
});

Deno.test("record: ciphers made ahead seal and open the records they were made for, and are let go", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const writer = new RecordWriter(pair.client, keys);
  const reader = new RecordReader(pair.server, keys);
  // Made ahead for record 0, once however often asked; then a batch of three records, of which the first uses it.
  writer.prepare();
  writer.prepare();
  await writer.sendLines(new Uint8Array(2 * MAX_RECORD_BODY + 10).fill(0x0a));
  writer.prepare();
  await writer.sendAck(0);
  writer.prepare();
  await writer.sendData(lines("after\n"));
  // One made ahead and not used is let go: the sanitizer fails the test if its resource is left open.
  writer.prepare();
  writer.release();
  writer.release();
  await writer.sendLeave();
  await pair.client.closeWrite();
  // The reader makes its decipher ahead while it waits, and lets it go at the end of the stream.
  const outcome = await drain(reader);
  assert.equal(outcome.error, undefined);
  assert.deepEqual(outcome.records.map((record) => [record.type, record.seq]), [
    [1, 0],
    [1, 1],
    [1, 2],
    [2, 3],
    [1, 4],
    [4, 5],
  ]);
  assert.equal(new TextDecoder().decode(outcome.records[4].body), "after\n");
});

Deno.test("record: a reader that fails lets go of the decipher it made ahead", async () => {
  using pair = await connectedPair("127.0.0.1");
  const reader = new RecordReader(pair.server, await newKeys());
  const reading = drain(reader);
  // It waits (and makes a decipher for record 0); then a header no record can have comes.
  await new Promise((resolve) => setTimeout(resolve, 20));
  await writeAll(pair.client, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  assertRecordError(await reading, /^a record header announced 4294967295 bytes/);
});

Deno.test("record: after a small read the reader reads again only when asked; a chat line goes up with no read begun", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const read = new Counted(pair.server);
  const reader = new RecordReader(read, keys);
  const writer = new RecordWriter(pair.client, keys);
  await writer.sendData(lines("a chat line\n"));
  const record = await reader.next();
  assert.equal(record?.type, RecordType.Data);
  assert.equal(read.reads, 1, "a read was started before the line was handed over");
  await writer.sendLeave();
  await pair.client.closeWrite();
  assert.equal((await reader.next())?.type, RecordType.Leave);
  assert.equal(await reader.next(), null);
});

Deno.test("record: after a failed write every later send fails", async () => {
  using pair = await connectedPair("127.0.0.1");
  const writer = new RecordWriter(pair.client, await newKeys());
  pair.client.close();
  const first = writer.sendData(lines("a\n"));
  const second = writer.sendData(lines("b\n"));
  await assert.rejects(first, Deno.errors.BadResource);
  await assert.rejects(second, Deno.errors.BadResource);
});

Deno.test("record: 64 MiB in 64 KiB records goes round in bounded reads and memory", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const body = new Uint8Array(MAX_RECORD_BODY).fill(0x62);
  for (let i = 99; i < body.length; i += 100) body[i] = 0x0a;
  body[body.length - 1] = 0x0a;
  const count = 1024;
  const read = new Counted(pair.server);
  const reader = new RecordReader(read, keys);
  const writer = new RecordWriter(pair.client, keys);
  let total = 0;
  let last: ParleyRecord | undefined;
  await Promise.all([
    (async () => {
      for (let i = 0; i < count; i++) {
        body[0] = i & 0xff;
        await writer.sendData(body);
      }
      await writer.sendLeave();
      await pair.client.closeWrite();
    })(),
    (async () => {
      for (let record = await reader.next(); record !== null; record = await reader.next()) {
        if (record.type === RecordType.Data) {
          assert.equal(record.body[0], record.seq & 0xff);
          assert.equal(record.body.length, MAX_RECORD_BODY);
          total += record.body.length;
        }
        last = record;
      }
    })(),
  ]);
  assert.equal(total, count * MAX_RECORD_BODY);
  assert.equal(last?.type, RecordType.Leave);
  assert.equal(last?.seq, count);
  assert.ok(read.reads <= 4 * count, `${read.reads} reads for ${count} records`);
  assert.equal(reader.capacity, RECORD_READ_BYTES);
});

Deno.test("record: ChaCha20-Poly1305 from node:crypto passes RFC 8439's AEAD test vector (section 2.8.2)", () => {
  const hexBytes = (text: string) => Uint8Array.from(text.match(/../g)!.map((pair) => parseInt(pair, 16)));
  const key = hexBytes("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = hexBytes("070000004041424344454647");
  const aad = hexBytes("50515253c0c1c2c3c4c5c6c7");
  const plain = encoder.encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plain.length });
  const sealed = concatBytes([cipher.update(plain), cipher.final()]);
  const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  assert.equal(
    hex(sealed),
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e06" +
      "0b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d265" +
      "86cec64b6116",
  );
  assert.equal(hex(cipher.getAuthTag()), "1ae10b594f09e26a7e902ecbd0600691");
});

Deno.test("record: a DATA+ACK record carries an acknowledgement and data in one", async () => {
  using pair = await connectedPair("127.0.0.1");
  const keys = await newKeys();
  const writer = new RecordWriter(pair.client, keys);
  const reader = new RecordReader(pair.server, keys);
  const big = lines("z".repeat(70_000) + "\n");
  // The first record holds 8 bytes less of the lines: the acknowledgement rides in it.
  assert.equal(await writer.sendLines(big, 41), 1);
  const first = await reader.next();
  assert.deepEqual(first && { type: first.type, seq: first.seq, length: first.body.length }, {
    type: RecordType.DataAck,
    seq: 0,
    length: MAX_RECORD_BODY - 8,
  });
  assert.equal(first?.type === RecordType.DataAck && first.acked, 41);
  const second = await reader.next();
  assert.equal(second?.type, RecordType.Data);
  assert.equal((first?.body.length ?? 0) + (second?.body.length ?? 0), big.length);
});
