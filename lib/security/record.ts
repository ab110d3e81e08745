/**
 * The encrypted record layer of the secure session: numbered, authenticated
 * records over a byte stream, sealed with ChaCha20-Poly1305 (RFC 8439) as the
 * runtime's `node:crypto` provides it (docs/design.md says why this one). The
 * keys come ready from the handshake (CPace), one {@linkcode DirectionKeys}
 * per direction.
 *
 * The format:
 *
 * - Per direction the layer gets
 *   `DirectionKeys { key: Uint8Array; iv: Uint8Array }`: a 32-byte key, a
 *   12-byte IV.
 * - A record on the wire: a 4-byte header = u32 big-endian length L of the
 *   ciphertext that follows (ciphertext includes the 16-byte Poly1305 tag), then
 *   L bytes. Plaintext = 1 type byte + body, body at most
 *   {@linkcode MAX_RECORD_BODY} = 65536 bytes, so 17 <= L <= 65536+1+16. A
 *   header outside that range is rejected at once, before allocating
 *   anything.
 * - Nonce = iv XOR (4 zero bytes || u64 big-endian sequence number). The
 *   sequence number starts at 0 in each direction and increases by one per
 *   record of any type; it is never sent (implicit), so a dropped, replayed,
 *   duplicated or reordered record fails authentication. Additional data =
 *   the 4-byte header.
 * - Types: 1 DATA (body: bytes of the line stream, never empty; many
 *   queued lines are batched into one record, and a line longer than a
 *   record spans several), 2 ACK (body exactly 8
 *   bytes: u64 BE sequence number of the latest DATA record the receiver has
 *   delivered — acknowledgements are by record number, so a later version can
 *   resume by replaying unacknowledged records), 3 END (empty body: this side
 *   finished sending; no DATA after it), 4 LEAVE (empty body: this side is
 *   leaving; nothing may follow it), 5 DATA+ACK (an ACK's 8 bytes, then
 *   DATA's bytes: an answer that carries the acknowledgement). Any other type, a wrong body size, DATA
 *   after END, anything after LEAVE → error.
 * - At most {@linkcode MAX_RECORDS} = 2^48 records are sent in one
 *   direction; so an ACK names a number below 2^48, and a second END in one
 *   direction is refused like DATA after END.
 *
 * {@linkcode RecordWriter} seals and sends; {@linkcode RecordReader} reads,
 * opens and checks, in one reused buffer of {@linkcode RECORD_READ_BYTES}. Every
 * failure of the peer or of the network in between is a
 * {@linkcode RecordError}.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { ProtocolError } from "../io/errors.ts";
import type { Reader, Writer } from "../io/types.ts";
import {
  type CipherChaCha20Poly1305,
  createCipheriv,
  createDecipheriv,
  type DecipherChaCha20Poly1305,
} from "node:crypto";

/** The AEAD, as node:crypto names it (RFC 8439). */
const AEAD = "chacha20-poly1305";

/** Bytes of a record key. */
export const RECORD_KEY_BYTES = 32;

/** Most bytes of body in one record. */
export const MAX_RECORD_BODY = 65536;

/** Bytes of a record's header: the u32 big-endian length of the ciphertext. */
export const RECORD_HEADER_BYTES = 4;

/** Bytes of the Poly1305 authentication tag at the end of every ciphertext. */
export const RECORD_TAG_BYTES = 16;

/** Shortest ciphertext: a type byte, an empty body and the tag (17). */
export const MIN_RECORD_CIPHERTEXT: number = 1 + RECORD_TAG_BYTES;

/** Longest ciphertext: a type byte, the largest body and the tag (65553). */
export const MAX_RECORD_CIPHERTEXT: number = 1 + MAX_RECORD_BODY + RECORD_TAG_BYTES;

/** Most records sent in one direction with one key: 2^48. */
export const MAX_RECORDS = 2 ** 48;

/** Bytes of the IV of {@linkcode DirectionKeys}, and of every nonce. */
export const RECORD_IV_BYTES = 12;

/**
 * Most records a {@linkcode RecordReader} opens ahead of its caller, each
 * holding its plaintext until it is delivered.
 */
export const MAX_RECORDS_OPENING = 16;

/**
 * Size of the reader's one buffer: a read takes up to this much at once, so
 * that a bulk transfer costs few reads and many records open side by side.
 * At least one largest record and its header.
 */
export const RECORD_READ_BYTES = 1024 * 1024;

/** A read of at least this many bytes means a bulk transfer: the reader then reads on while its caller works. */
export const READ_AHEAD_AFTER_BYTES = 16 * 1024;

/** Room a read needs behind what the reader holds: one largest record and its header. */
const MIN_READ_ROOM = RECORD_HEADER_BYTES + MAX_RECORD_CIPHERTEXT;

/** Bytes of an ACK record's body: the u64 big-endian number acknowledged. */
export const ACK_BODY_BYTES = 8;

/** The record types, as the first plaintext byte carries them. */
export const RecordType = {
  /** One or more complete lines, each ending in `\n`. */
  Data: 1,
  /** The sequence number of the latest DATA record delivered. */
  Ack: 2,
  /** This side finished sending: no DATA after it. */
  End: 3,
  /** This side is leaving: nothing after it. */
  Leave: 4,
  /** An ACK and DATA in one record: 8 bytes as in an ACK, then DATA's bytes; as DATA, not after END. */
  DataAck: 5,
} as const;

/** One of the values of {@linkcode RecordType}. */
export type RecordType = typeof RecordType[keyof typeof RecordType];

const TYPE_NAMES: Readonly<Record<RecordType, string>> = { 1: "DATA", 2: "ACK", 3: "END", 4: "LEAVE", 5: "DATA+ACK" };

/** The keys of one direction, as the handshake hands them over. */
export interface DirectionKeys {
  /** A 32-byte ChaCha20-Poly1305 key (RFC 8439); sealing for a writer, opening for a reader. */
  key: Uint8Array;
  /** Twelve bytes, XORed with the sequence number to make each nonce. */
  iv: Uint8Array;
}

/** A DATA record: complete lines. */
export interface DataRecord {
  /** {@linkcode RecordType.Data}. */
  type: typeof RecordType.Data;
  /** The record's sequence number in its direction. */
  seq: number;
  /** One or more lines, each ending in `\n`; the caller's to keep. */
  body: Uint8Array;
}

/** An ACK record: the peer has delivered our DATA records up to {@linkcode acked}. */
export interface AckRecord {
  /** {@linkcode RecordType.Ack}. */
  type: typeof RecordType.Ack;
  /** The record's sequence number in its direction. */
  seq: number;
  /** The 8 bytes of the body. */
  body: Uint8Array;
  /** The body read as a number: the sequence number of our latest DATA record delivered. */
  acked: number;
}

/** An END record: the peer finished sending DATA. */
export interface EndRecord {
  /** {@linkcode RecordType.End}. */
  type: typeof RecordType.End;
  /** The record's sequence number in its direction. */
  seq: number;
  /** Empty. */
  body: Uint8Array;
}

/** A LEAVE record: the peer is leaving; the authenticated goodbye. */
export interface LeaveRecord {
  /** {@linkcode RecordType.Leave}. */
  type: typeof RecordType.Leave;
  /** The record's sequence number in its direction. */
  seq: number;
  /** Empty. */
  body: Uint8Array;
}

/** A record received and authenticated: `{ type, seq, body }`, by type. */
export type ParleyRecord = DataRecord | AckRecord | EndRecord | LeaveRecord | DataAckRecord;

/** A DATA+ACK record: DATA's bytes, and the acknowledgement that rode with them. */
export interface DataAckRecord {
  /** {@linkcode RecordType.DataAck}. */
  type: typeof RecordType.DataAck;
  /** The record's sequence number in its direction. */
  seq: number;
  /** The bytes of the line stream (after the 8 bytes of the ACK); the caller's to keep. */
  body: Uint8Array;
  /** The sequence number of the latest DATA record of ours the peer delivered. */
  acked: number;
}

/**
 * The record layer was broken: a record did not authenticate, the
 * connection was cut inside one, or the peer broke the rules of the types.
 */
export class RecordError extends ProtocolError {}

/**
 * A line of text came where the first record belongs: the other side does
 * not speak records (a server turning us away as busy right after the
 * handshake, say). The caller may know the line for what it is.
 */
export class PlainLineError extends RecordError {
  /** The line as it came, up to 160 printable ASCII characters, without its end. */
  readonly line: string;

  /** Quotes `line` in the message. */
  constructor(line: string) {
    super(`the other side sent a line where its records belong: ${JSON.stringify(line)}`);
    this.line = line;
  }
}

/** The message of a record that fails authentication. */
const NOT_AUTHENTIC = "a record did not authenticate: the connection was altered, " +
  "or a record was dropped, replayed or reordered";

/** The message of a stream that ends inside a record. */
const CUT = "the connection was cut in the middle of a record";

/** The high 32 bits of a sequence number below 2^53. */
function high32(seq: number): number {
  return Math.floor(seq / 0x1_0000_0000);
}

/** The state of a direction, the same rules for sending and receiving. */
type Stage = "open" | "ended" | "left";

/** What a record of `type` in `stage` breaks, or `undefined` when it is allowed. */
function ruleBroken(type: RecordType, stage: Stage): string | undefined {
  if (stage === "left") return `a ${TYPE_NAMES[type]} record came after LEAVE`;
  if (stage === "ended" && (type === RecordType.Data || type === RecordType.DataAck || type === RecordType.End)) {
    return `a ${TYPE_NAMES[type]} record came after END`;
  }
  return undefined;
}

/** The stage after a record of `type`. */
function stageAfter(type: RecordType, stage: Stage): Stage {
  if (type === RecordType.Leave) return "left";
  if (type === RecordType.End) return "ended";
  return stage;
}

/** Copies and checks a direction's keys; resolves to the IV. */
function checkKeys(keys: DirectionKeys): Uint8Array<ArrayBuffer> {
  if (keys.iv.length !== RECORD_IV_BYTES) {
    throw new RangeError(`the record IV must be ${RECORD_IV_BYTES} bytes, not ${keys.iv.length}`);
  }
  if (keys.key.length !== RECORD_KEY_BYTES) {
    throw new RangeError(`the record key must be ${RECORD_KEY_BYTES} bytes, not ${keys.key.length}`);
  }
  return new Uint8Array(keys.iv);
}

/** The cipher that seals one record: `key` with the record's `nonce`. */
function newCipher(key: Uint8Array, nonce: Uint8Array): CipherChaCha20Poly1305 {
  return createCipheriv(AEAD, key, nonce, { authTagLength: RECORD_TAG_BYTES });
}

/** The decipher that opens one record: `key` with the record's `nonce`. */
function newDecipher(key: Uint8Array, nonce: Uint8Array): DecipherChaCha20Poly1305 {
  return createDecipheriv(AEAD, key, nonce, { authTagLength: RECORD_TAG_BYTES });
}

/**
 * Seals the plaintext `type ‖ body` with `cipher` (a fresh one, made for
 * this record's number) into `out` from `at`: the ciphertext, then the
 * 16-byte tag. A stream cipher takes the two parts one after the other, so
 * the body is not copied first.
 */
function seal(
  cipher: CipherChaCha20Poly1305,
  aad: Uint8Array,
  type: Uint8Array,
  body: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  cipher.setAAD(aad, { plaintextLength: type.length + body.length });
  let end = at;
  // A short record is put together first (one call into the cipher); a long one is not copied.
  const parts = body.length <= SMALL_BODY
    ? [cipher.update(joinSmall(type, body))]
    : [cipher.update(type), cipher.update(body)];
  parts.push(cipher.final());
  for (const part of parts) {
    out.set(part, end);
    end += part.length;
  }
  out.set(cipher.getAuthTag(), end);
}

/** Bodies up to this size are joined to their type byte before sealing. */
const SMALL_BODY = 4096;
/** Where a short record's plaintext is put together; copied by the cipher when called. */
const smallPlain = new Uint8Array(1 + SMALL_BODY);

/** `type ‖ body` in {@linkcode smallPlain}; valid until the next call. */
function joinSmall(type: Uint8Array, body: Uint8Array): Uint8Array {
  smallPlain.set(type);
  smallPlain.set(body, type.length);
  return smallPlain.subarray(0, type.length + body.length);
}

/**
 * Opens `sealed` (ciphertext and tag) with `decipher` (a fresh one, made for
 * this record's number); `undefined` when it does not authenticate.
 */
function open(decipher: DecipherChaCha20Poly1305, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  decipher.setAAD(aad, { plaintextLength: sealed.length - RECORD_TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(sealed.length - RECORD_TAG_BYTES));
  const head = decipher.update(sealed.subarray(0, sealed.length - RECORD_TAG_BYTES));
  try {
    const tail = decipher.final();
    if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
    const plain = new Uint8Array(head.length + tail.length);
    plain.set(head);
    plain.set(tail, head.length);
    return plain;
  } catch {
    return undefined;
  }
}

/** The body of an ACK naming record `seq`, or the error for a number out of range. */
function ackBody(seq: number): Uint8Array | RangeError {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= MAX_RECORDS) {
    return new RangeError(`an ACK names a record number from 0 to 2^48 - 1, not ${seq}`);
  }
  const body = new Uint8Array(ACK_BODY_BYTES);
  const view = new DataView(body.buffer);
  view.setUint32(0, high32(seq));
  view.setUint32(4, seq >>> 0);
  return body;
}

/** Most characters of a plain line taken where the first record belongs. */
const MAX_PLAIN_LINE = 160;

/**
 * The start of `bytes` as text when it is a line of printable ASCII (up to
 * {@linkcode MAX_PLAIN_LINE} characters), else `undefined`; `whole` once its
 * end (or the most characters taken) is in.
 */
function plainLine(bytes: Uint8Array): { text: string; whole: boolean } | undefined {
  let end = 0;
  while (end < bytes.length && end < MAX_PLAIN_LINE && bytes[end] !== 0x0a) {
    if (bytes[end] < 0x20 || bytes[end] > 0x7e) return undefined;
    end++;
  }
  if (end < 4) return undefined;
  return {
    text: new TextDecoder().decode(bytes.subarray(0, end)),
    whole: end < bytes.length || end === MAX_PLAIN_LINE,
  };
}

/**
 * A cipher (or decipher) made ahead for one record number, so that making
 * it is not on a line's way; used for that record only, and finished unused
 * when let go (the runtime holds a resource for each until it is finished).
 */
class MadeAhead<T extends { final(): unknown }> {
  #make: (seq: number) => T;
  #ready: { seq: number; made: T } | undefined;

  constructor(make: (seq: number) => T) {
    this.#make = make;
  }

  /** Makes the one for record `seq`, unless it is made already. */
  prepare(seq: number): void {
    if (this.#ready?.seq === seq) return;
    this.release();
    this.#ready = { seq, made: this.#make(seq) };
  }

  /** A fresh one for record `seq`: the one made ahead for it, else a new one. */
  take(seq: number): T {
    const ready = this.#ready;
    this.#ready = undefined;
    if (ready?.seq === seq) return ready.made;
    if (ready !== undefined) finishUnused(ready.made);
    return this.#make(seq);
  }

  /** Finishes the one made ahead, if any, unused. */
  release(): void {
    const ready = this.#ready;
    this.#ready = undefined;
    if (ready !== undefined) finishUnused(ready.made);
  }
}

/** Finishes a cipher or decipher that was never used, so that the runtime lets go of it. */
function finishUnused(made: { final(): unknown }): void {
  try {
    made.final();
  } catch {
    // A decipher without a tag fails to finish, and lets go all the same.
  }
}

/** Makes nonces: iv XOR (4 zero bytes || u64 BE seq), in one reused buffer. */
class Nonces {
  #iv: DataView;
  #nonce = new Uint8Array(RECORD_IV_BYTES);
  #view = new DataView(this.#nonce.buffer);

  constructor(iv: Uint8Array<ArrayBuffer>) {
    this.#iv = new DataView(iv.buffer);
    this.#nonce.set(iv);
  }

  /** The nonce of record `seq`; valid until the next call (the cipher copies it when made). */
  of(seq: number): Uint8Array<ArrayBuffer> {
    this.#view.setUint32(4, this.#iv.getUint32(4) ^ high32(seq));
    this.#view.setUint32(8, this.#iv.getUint32(8) ^ (seq >>> 0));
    return this.#nonce;
  }
}

/**
 * Seals records and writes them to a {@linkcode Writer}, one write call
 * (with {@linkcode writeAll}) per call of a send method: every record it
 * makes, headers and ciphertext together.
 *
 * Calls may overlap — say a DATA record from the input and an ACK from the
 * receiving side: records take their sequence numbers, and go out, in the
 * order of the calls. Each pending call holds its sealed records until they
 * are written (a large batch in one of a few buffers kept for reuse), so the
 * caller bounds how many it leaves pending. Once a write fails, every later
 * send fails with the same error.
 *
 * Sending what the format forbids (an unknown type, a wrong body, DATA after
 * END, anything after LEAVE) is a bug in the caller and rejects with a
 * `RangeError` or an `Error`; the 2^48th record rejects with a
 * {@linkcode RecordError}.
 */
export class RecordWriter {
  #sink: Writer;
  #key: Uint8Array;
  #nonces: Nonces;
  /** The next record's sequence number. */
  #next = 0;
  #stage: Stage = "open";
  /** Scratch for the type byte and the additional data: the cipher takes both when called. */
  #type = new Uint8Array(1);
  #aad = new Uint8Array(RECORD_HEADER_BYTES);
  #aadView = new DataView(this.#aad.buffer);
  /** Settles when every record so far is written or has failed; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #buffers = new BufferPool();
  /** The cipher made ahead for record `seq` ({@linkcode RecordWriter.prepare}). */
  #ciphers: MadeAhead<CipherChaCha20Poly1305>;

  /**
   * Creates a writer for one direction; `keys` are copied.
   *
   * @throws {RangeError} when the key is not 32 bytes or the IV not 12.
   */
  constructor(sink: Writer, keys: DirectionKeys) {
    this.#sink = sink;
    this.#key = new Uint8Array(keys.key);
    this.#nonces = new Nonces(checkKeys(keys));
    this.#ciphers = new MadeAhead((seq) => newCipher(this.#key, this.#nonces.of(seq)));
  }

  /**
   * Makes the next record's cipher now, while nothing else is to be done (the
   * secure channel calls this as it waits for the peer): making one costs a
   * small record most of its sealing time, and a line then goes out sooner.
   * Made once per number, and used for that record only.
   */
  prepare(): void {
    if (this.#stage !== "left" && this.#next < MAX_RECORDS) this.#ciphers.prepare(this.#next);
  }

  /**
   * Lets go of the cipher made ahead, if any (the runtime holds a resource
   * for each until it is finished): the secure channel calls this as it
   * closes.
   */
  release(): void {
    this.#ciphers.release();
  }

  /** How many records were sent (or are being sent): the next sequence number. */
  get sent(): number {
    return this.#next;
  }

  /**
   * Seals a record of `type` with `body` and writes it. `body` is copied
   * before this returns. Resolves to the record's sequence number once it
   * is written.
   *
   * @throws {RangeError} for an unknown type or a body wrong for the type.
   * @throws {Error} for a record the format forbids after END or LEAVE.
   * @throws {RecordError} when 2^48 records were sent already.
   */
  send(type: RecordType, body: Uint8Array): Promise<number> {
    return this.#send([[type, body]]);
  }

  /**
   * Sends an ACK for the peer's DATA record number `ack`, then a DATA record
   * of `lines`, in one write: an acknowledgement rides with the answer.
   * Resolves to the DATA record's sequence number.
   */
  sendAckAndData(ack: number, lines: Uint8Array): Promise<number> {
    const body = ackBody(ack);
    if (body instanceof Error) return Promise.reject(body);
    return this.#send([[RecordType.Ack, body], [RecordType.Data, lines]]);
  }

  /**
   * Sends DATA records of `lines` cut at {@linkcode MAX_RECORD_BODY}, all in
   * one write; with `ack`, the first is a DATA+ACK record acknowledging the
   * peer's record `ack` (and holds 8 bytes fewer of `lines`). Resolves to
   * the last record's sequence number; the first's is
   * {@linkcode RecordWriter.sent} before the call.
   */
  sendLines(lines: Uint8Array, ack?: number): Promise<number> {
    const records: [RecordType, Uint8Array][] = [];
    let start = 0;
    if (ack !== undefined) {
      const body = ackBody(ack);
      if (body instanceof Error) return Promise.reject(body);
      // The acknowledgement rides in the first record: one seal fewer than an ACK of its own.
      start = Math.min(lines.length, MAX_RECORD_BODY - ACK_BODY_BYTES);
      const first = new Uint8Array(ACK_BODY_BYTES + start);
      first.set(body);
      first.set(lines.subarray(0, start), ACK_BODY_BYTES);
      records.push([RecordType.DataAck, first]);
    }
    for (; start < lines.length; start += MAX_RECORD_BODY) {
      records.push([RecordType.Data, lines.subarray(start, start + MAX_RECORD_BODY)]);
    }
    return this.#send(records);
  }

  /** Seals `records` now, into one buffer (a kept one for a large batch), and writes it once those before are written. */
  #send(records: [RecordType, Uint8Array][]): Promise<number> {
    let total = 0;
    for (const [type, body] of records) {
      const refusal = this.#refusal(type, body);
      if (refusal !== undefined) return Promise.reject(refusal);
      total += RECORD_HEADER_BYTES + 1 + body.length + RECORD_TAG_BYTES;
    }
    const out = this.#buffers.take(total);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let at = 0;
    let seq = 0;
    for (const [type, body] of records) {
      seq = this.#next++;
      this.#stage = stageAfter(type, this.#stage);
      const length = 1 + body.length + RECORD_TAG_BYTES;
      this.#type[0] = type;
      this.#aadView.setUint32(0, length);
      view.setUint32(at, length);
      seal(this.#ciphers.take(seq), this.#aad, this.#type, body, out, at + RECORD_HEADER_BYTES);
      at += RECORD_HEADER_BYTES + length;
    }
    const written = this.#tail.then(async () => {
      if (this.#failure !== undefined) throw this.#failure.error;
      await writeAll(this.#sink, out);
      return seq;
    });
    // Once written, or failed (nothing more is written then), the buffer is free again.
    const free = () => this.#buffers.give(out);
    written.then(free, free);
    this.#tail = written.then(() => {}, (error: unknown) => {
      this.#failure ??= { error };
    });
    return written;
  }

  /**
   * Sends a DATA record: `lines` is one or more complete lines, each ending
   * in `\n`, at most {@linkcode MAX_RECORD_BODY} bytes in all. Resolves to
   * its sequence number: the number the peer acknowledges.
   */
  sendData(lines: Uint8Array): Promise<number> {
    return this.send(RecordType.Data, lines);
  }

  /** Sends an ACK record for the peer's DATA record number `seq`; resolves to the ACK's own number. */
  sendAck(seq: number): Promise<number> {
    const body = ackBody(seq);
    return body instanceof Error ? Promise.reject(body) : this.send(RecordType.Ack, body);
  }

  /** Sends an END record: no DATA follows. Resolves to its sequence number. */
  sendEnd(): Promise<number> {
    return this.send(RecordType.End, new Uint8Array(0));
  }

  /** Sends a LEAVE record: nothing follows. Resolves to its sequence number. */
  sendLeave(): Promise<number> {
    return this.send(RecordType.Leave, new Uint8Array(0));
  }

  /** Why a record of `type` with `body` may not be sent now, or `undefined`. */
  #refusal(type: RecordType, body: Uint8Array): Error | undefined {
    const size = bodySizeProblem(type, body);
    if (size !== undefined) return new RangeError(`cannot send ${size}`);
    const rule = ruleBroken(type, this.#stage);
    if (rule !== undefined) return new Error(`cannot send: ${rule}`);
    if (this.#next >= MAX_RECORDS) {
      return new RecordError(`cannot send more than 2^48 records on one connection`);
    }
    return undefined;
  }
}

/**
 * Batches of sealed records at least this big are sealed into buffers that
 * are kept and reused; smaller ones (a chat's lines) into buffers of their
 * own, which cost little.
 */
const POOLED_FROM_BYTES = 64 * 1024;

/**
 * Size of a kept buffer: a batch of 1 MiB of lines (what the session hands
 * over in a bulk transfer) with the headers and tags of its records. A larger
 * batch gets a buffer of its own.
 */
const POOLED_BUFFER_BYTES = 1024 * 1024 + 64 * 1024;

/** Most buffers kept: as many batches as the secure channel lets wait to be written, and one more. */
const MAX_POOLED_BUFFERS = 5;

/**
 * Buffers for sealed batches, reused once written. A fresh megabyte for every
 * batch cost the sender as much as a third of its sealing time in a bulk
 * transfer, in fresh pages. They only ever hold headers and ciphertext.
 */
class BufferPool {
  #free: ArrayBuffer[] = [];

  /** A buffer of `size` bytes: a kept one when the batch is big, else a new one. */
  take(size: number): Uint8Array<ArrayBuffer> {
    if (size < POOLED_FROM_BYTES || size > POOLED_BUFFER_BYTES) return new Uint8Array(size);
    return new Uint8Array(this.#free.pop() ?? new ArrayBuffer(POOLED_BUFFER_BYTES), 0, size);
  }

  /** Takes back a buffer from {@linkcode BufferPool.take} once its bytes are written (or failed to be). */
  give(bytes: Uint8Array<ArrayBuffer>): void {
    if (bytes.buffer.byteLength === POOLED_BUFFER_BYTES && this.#free.length < MAX_POOLED_BUFFERS) {
      this.#free.push(bytes.buffer);
    }
  }
}

/** What is wrong with a body of `type`, or `undefined`; also refuses unknown types. */
function bodySizeProblem(type: number, body: Uint8Array): string | undefined {
  switch (type) {
    case RecordType.Data:
      if (body.length === 0) return "a DATA record with an empty body";
      if (body.length > MAX_RECORD_BODY) {
        return `a DATA record of ${body.length} bytes, over the ${MAX_RECORD_BODY} a record holds`;
      }
      return undefined;
    case RecordType.DataAck:
      if (body.length <= ACK_BODY_BYTES) return "a DATA+ACK record without data";
      if (body.length > MAX_RECORD_BODY) {
        return `a DATA+ACK record of ${body.length} bytes, over the ${MAX_RECORD_BODY} a record holds`;
      }
      return undefined;
    case RecordType.Ack:
      return body.length === ACK_BODY_BYTES
        ? undefined
        : `an ACK record of ${body.length} bytes instead of ${ACK_BODY_BYTES}`;
    case RecordType.End:
    case RecordType.Leave:
      return body.length === 0
        ? undefined
        : `an ${TYPE_NAMES[type]} record with a body of ${body.length} bytes instead of none`;
    default:
      return `a record of unknown type ${type}`;
  }
}

/**
 * Reads records from a {@linkcode Reader}, authenticates them and checks
 * the rules of the types.
 *
 * The reader owns one buffer ({@linkcode capacity} bytes, room for many
 * records), reused for every read. It reads as much as fits, checks each
 * header as soon as its four bytes are in, and opens each complete record
 * into a fresh buffer (so its bytes in the read buffer are free again), up
 * to {@linkcode MAX_RECORDS_OPENING} ahead of the caller. While the caller
 * takes those, the reader already reads on into the room behind them when
 * the last read was large (a bulk transfer: {@linkcode READ_AHEAD_AFTER_BYTES}
 * or more; after a chat line it reads when asked, as plain parley does, so
 * that the line is shown without a read started in between); what
 * is held moves back to the front only when that room is less than a
 * largest record and little is held (moving most of the buffer at every
 * record cost a bulk transfer a fifth of its time). So a read may be pending
 * after {@linkcode next} resolves; closing the source ends it, and its error
 * is not reported.
 *
 * Records come out in order, and an error comes out in its place: after the
 * records before it. Each body is a fresh buffer, the caller's to keep.
 *
 * One call to {@linkcode next} at a time. After a {@linkcode RecordError}
 * every later call fails with the same error; errors of the source itself
 * (a reset) are passed on as they are.
 */
export class RecordReader {
  #source: Reader;
  #key: Uint8Array;
  #nonces: Nonces;
  #buf = new Uint8Array(RECORD_READ_BYTES);
  #view = new DataView(this.#buf.buffer);
  /** Bytes not yet taken as records are `#buf[#start, #end)`. */
  #start = 0;
  #end = 0;
  #eof = false;
  /** Bytes the last read gave. */
  #lastRead = 0;
  /** The read in progress, if any: it fills `#buf[#end, …)`. */
  #reading: Promise<void> | undefined;
  #readFailure: { error: unknown } | undefined;
  /** Records taken from the buffer, in order, being opened; or the error found in their place. */
  #opening: Opening[] = [];
  /** True once a bad header was found: nothing after it is looked at. */
  #halted = false;
  /** The sequence number of the next record taken from the buffer. */
  #taken = 0;
  /** How many records were delivered. */
  #delivered = 0;
  #stage: Stage = "open";
  #failure: RecordError | undefined;
  /** The decipher made ahead for record `seq` ({@linkcode RecordReader.prepare}). */
  #deciphers: MadeAhead<DecipherChaCha20Poly1305>;

  /**
   * Creates a reader for one direction; `keys` are copied. It reads nothing
   * until asked for a record.
   *
   * @throws {RangeError} when the key is not 32 bytes or the IV not 12.
   */
  constructor(source: Reader, keys: DirectionKeys) {
    this.#source = source;
    this.#key = new Uint8Array(keys.key);
    this.#nonces = new Nonces(checkKeys(keys));
    this.#deciphers = new MadeAhead((seq) => newDecipher(this.#key, this.#nonces.of(seq)));
  }

  /**
   * Makes the next record's decipher now, while waiting for it: making one
   * costs a small record most of its opening time. Made once per number, and
   * used for that record only.
   */
  prepare(): void {
    if (!this.#halted && this.#taken < MAX_RECORDS) this.#deciphers.prepare(this.#taken);
  }

  /**
   * Lets go of the decipher made ahead, if any (the runtime holds a resource
   * for each until it is finished): done when the stream ends or fails, and
   * by the secure channel as it closes.
   */
  release(): void {
    this.#deciphers.release();
  }

  /** How many records were received, authenticated and delivered: the next one's sequence number. */
  get received(): number {
    return this.#delivered;
  }

  /** Size of the reused buffer: the reader never holds more than this, besides records being opened. */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * Records already read in full and being opened: `next` delivers this
   * many without waiting for the network.
   */
  get opening(): number {
    return this.#opening.length;
  }

  /** Bytes read from the source and not yet taken as records. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /**
   * Reads the next record. Resolves to `null` when the connection ended
   * cleanly at a record boundary; whether that is a lost connection or a
   * goodbye is the caller's to judge (LEAVE is the authenticated goodbye).
   *
   * @throws {RecordError} when the connection was cut inside a record, a
   * header announces an impossible length, a record does not authenticate,
   * or a record breaks the rules of the types.
   */
  async next(): Promise<ParleyRecord | null> {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      const record = await this.#next();
      // The stream ended: no record will need the decipher made ahead.
      if (record === null) this.release();
      return record;
    } catch (error) {
      if (error instanceof RecordError) this.#failure = error;
      // Let the records opened ahead finish, so that no work outlives the failure.
      const opening = this.#opening;
      this.#opening = [];
      this.#halted = true;
      this.release();
      await Promise.allSettled(opening.map((record) => record.plain));
      throw error;
    }
  }

  async #next(): Promise<ParleyRecord | null> {
    for (;;) {
      this.#takeRecords();
      const opening = this.#opening.shift();
      if (opening !== undefined) {
        this.#readAhead();
        return await this.#finish(opening);
      }
      if (this.#reading !== undefined) {
        // Nothing to open until the read ends: the next record's decipher is made meanwhile.
        this.prepare();
        await this.#reading;
        continue;
      }
      if (this.#readFailure !== undefined) throw this.#readFailure.error;
      if (this.#eof) {
        if (this.#end === this.#start) return null;
        throw new RecordError(CUT);
      }
      this.#startRead();
    }
  }

  /** Starts opening every complete record in the buffer, up to {@linkcode MAX_RECORDS_OPENING}. */
  #takeRecords(): void {
    while (!this.#halted && this.#opening.length < MAX_RECORDS_OPENING) {
      const at = this.#start;
      const available = this.#end - at;
      if (available < RECORD_HEADER_BYTES) return;
      const length = this.#view.getUint32(at);
      if (length < MIN_RECORD_CIPHERTEXT || length > MAX_RECORD_CIPHERTEXT) {
        // A plain line where the first record belongs (a server turning us away as busy) is quoted, not measured.
        const line = this.#taken === 0 ? plainLine(this.#buf.subarray(at, this.#end)) : undefined;
        // Read in part: its end comes soon (or the stream's), and it is at most a few bytes more.
        if (line !== undefined && !line.whole && !this.#eof) return;
        this.#halt(
          line !== undefined ? new PlainLineError(line.text) : new RecordError(
            `a record header announced ${length} bytes; a record holds ${MIN_RECORD_CIPHERTEXT} to ${MAX_RECORD_CIPHERTEXT}`,
          ),
        );
        return;
      }
      if (available < RECORD_HEADER_BYTES + length) return;
      const seq = this.#taken;
      if (seq >= MAX_RECORDS) {
        this.#halt(new RecordError(`more than 2^48 records came on one connection`));
        return;
      }
      const body = at + RECORD_HEADER_BYTES;
      const opened = open(
        this.#deciphers.take(seq),
        this.#buf.subarray(at, body),
        this.#buf.subarray(body, body + length),
      );
      const plain = opened === undefined ? Promise.reject(new RecordError(NOT_AUTHENTIC)) : Promise.resolve(opened);
      // Awaited in turn, or settled on failure; never an unhandled rejection.
      plain.catch(() => {});
      this.#opening.push({ seq, plain });
      this.#taken++;
      this.#start = body + length;
    }
  }

  /** Queues `error` after the records taken, and stops taking. */
  #halt(error: RecordError): void {
    this.#opening.push({ seq: this.#taken, plain: Promise.resolve(undefined), error });
    this.#halted = true;
  }

  /** Waits for a record to open and checks it. */
  async #finish(opening: Opening): Promise<ParleyRecord> {
    if (opening.error !== undefined) throw opening.error;
    const plain = (await opening.plain)!;
    const seq = opening.seq;
    const type = plain[0];
    const body = plain.subarray(1);
    const problem = bodySizeProblem(type, body);
    if (problem !== undefined) throw new RecordError(`received ${problem}`);
    const known = type as RecordType;
    const rule = ruleBroken(known, this.#stage);
    if (rule !== undefined) throw new RecordError(rule);
    let record: ParleyRecord;
    if (known === RecordType.Ack || known === RecordType.DataAck) {
      const view = new DataView(plain.buffer, plain.byteOffset + 1, ACK_BODY_BYTES);
      const acked = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
      if (acked >= MAX_RECORDS) throw new RecordError(`an ACK record named record ${acked}, past 2^48`);
      record = known === RecordType.Ack
        ? { type: known, seq, body, acked }
        : { type: known, seq, body: body.subarray(ACK_BODY_BYTES), acked };
    } else {
      record = { type: known, seq, body };
    }
    this.#stage = stageAfter(known, this.#stage);
    this.#delivered++;
    return record;
  }

  /** Reads on while records are opened, when there is room and a reason. */
  #readAhead(): void {
    if (this.#reading !== undefined || this.#eof || this.#readFailure !== undefined || this.#halted) return;
    if (this.#stage === "left") return;
    if (this.#start === 0 && this.#end === this.#buf.length) return;
    if (this.#lastRead < READ_AHEAD_AFTER_BYTES) return;
    // Reading on would first move what is held to the front: wait until little is held.
    if (this.#buf.length - this.#end < MIN_READ_ROOM && this.#end - this.#start > MIN_READ_ROOM) return;
    this.#startRead();
  }

  /**
   * Starts a read into the rest of the buffer. What is held moves to the
   * front only when the room behind it is less than a largest record: moving
   * it before every read copied most of the buffer each time.
   */
  #startRead(): void {
    if (this.#start > 0 && (this.#start === this.#end || this.#buf.length - this.#end < MIN_READ_ROOM)) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) return;
    this.#reading = this.#source.read(this.#buf.subarray(this.#end)).then((n) => {
      if (n === null) this.#eof = true;
      else this.#end += n;
      this.#lastRead = n ?? 0;
      this.#reading = undefined;
    }, (error: unknown) => {
      this.#readFailure = { error };
      this.#reading = undefined;
    });
  }
}

/** A record taken from the buffer: its number and its plaintext to come, or the error in its place. */
interface Opening {
  seq: number;
  plain: Promise<Uint8Array | undefined>;
  error?: RecordError;
}
