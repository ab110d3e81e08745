/**
 * The secure session's byte stream: a {@linkcode Channel} whose bytes travel
 * in encrypted, numbered records (`record.ts`), so that the session above
 * reads and writes lines as over plain TCP, and learns what plain TCP cannot
 * say:
 *
 * - how the peer's direction ended: it **left** (an authenticated LEAVE) or
 *   only **finished sending** (END); a connection that ends without either
 *   was cut, and reading it fails as a lost connection;
 * - how much of what we wrote the peer has taken (its ACKs, by record
 *   number): {@linkcode SecureChannel.onConfirmed} reports it in bytes, in
 *   order, and {@linkcode SecureChannel.unconfirmed} counts the rest.
 *
 * We acknowledge the peer's DATA records when the session has taken what
 * they held and asks for more while nothing more has arrived, so that a
 * bulk transfer is acknowledged a batch at a time, not record by record.
 *
 * @module
 */

import { ConnectionLostError, describeIoError, isIoError } from "../io/errors.ts";
import { type Deadline, deadline } from "../io/time.ts";
import type { Channel, EndTelling, Reader } from "../io/types.ts";
import {
  ACK_BODY_BYTES,
  MAX_RECORD_BODY,
  type ParleyRecord,
  PlainLineError,
  RecordError,
  RecordReader,
  RecordType,
  RecordWriter,
} from "./record.ts";
import type { DirectionKeys } from "./session_keys.ts";

/**
 * Most bytes `write` lets wait to be sealed and written before it waits
 * itself: enough to keep sealing busy while the session reads on, small
 * beside the memory bound.
 */
export const WRITE_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Longest wait before what the session read is acknowledged alone: an
 * answer written sooner carries the acknowledgement (a round trip then
 * costs no extra record), and a person sees a line confirmed this soon.
 */
export const ACK_DELAY_MS = 20;

/** One DATA record of ours whose arrival the peer has not confirmed yet. */
interface Pending {
  seq: number;
  bytes: number;
}

/** A connection carrying the secure session's records; see the module doc. */
export class SecureChannel implements EndTelling {
  #conn: Channel;
  #writer: RecordWriter;
  #reader: RecordReader;
  #peerName: string;
  /** What the last DATA record held and the session has not read yet. */
  #body: Uint8Array = new Uint8Array(0);
  /** The latest DATA record the session has read entirely, not yet acknowledged; -1 for none. */
  #toAck = -1;
  /** The latest DATA record received, and the latest acknowledged; -1 for none. */
  #lastData = -1;
  #acked = -1;
  /** The latest DATA record to acknowledge, by a timer or with our next DATA; its timer. */
  #ackDue = -1;
  #ackTimer: Deadline | undefined;
  #peerEnd: "left" | "finished" | undefined;
  #ended = false;
  #pending: Pending[] = [];
  #head = 0;
  #unconfirmed = 0;
  #listeners: ((bytes: number) => void)[] = [];
  #writeEnded = false;
  #closed = false;
  /** Bytes given to `write` and not yet sealed and written; the sends in progress. */
  #writing = 0;
  #inFlight: Promise<void>[] = [];
  #writeFailure: { error: unknown } | undefined;
  /** A record (or the stream's end, or its failure) read ahead by `read`, for its next call. */
  #stash: { record: ParleyRecord | null } | { error: unknown } | undefined;
  /** Bytes of ours the peer has confirmed so far. */
  #confirmedTotal = 0;
  #gone = Promise.withResolvers<Error | undefined>();
  #refusal: ((line: string) => Error | undefined) | undefined;

  /**
   * Speaks records over `conn` (reading from `source`, which may hold bytes
   * read during the handshake) with `send` keys for our direction and
   * `receive` keys for the peer's; `peerName` names the peer in errors.
   * `refusal` turns a plain line where the first record belongs (a server
   * turning us away) into the error to report, if it knows the line.
   */
  constructor(
    conn: Channel,
    source: Reader,
    send: DirectionKeys,
    receive: DirectionKeys,
    peerName: string,
    refusal?: (line: string) => Error | undefined,
  ) {
    this.#conn = conn;
    this.#writer = new RecordWriter(conn, send);
    this.#reader = new RecordReader(source, receive);
    this.#peerName = peerName;
    this.#refusal = refusal;
  }

  /** How the peer's direction ended, once `read` has returned `null`. */
  get peerEnd(): "left" | "finished" | undefined {
    return this.#peerEnd;
  }

  /**
   * Resolves once the peer has gone: to `undefined` when it said it left
   * (perhaps after it finished sending), or to the error that ended the
   * connection (cut without a goodbye, a record that did not authenticate).
   * Never rejects; stays pending while the peer is there.
   */
  get peerGone(): Promise<Error | undefined> {
    return this.#gone.promise;
  }

  /** Bytes of ours written whose arrival the peer has not confirmed. */
  get unconfirmed(): number {
    return this.#unconfirmed;
  }

  /** Calls `listener` with the number of our bytes, in order, each time the peer confirms some. */
  onConfirmed(listener: (bytes: number) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Reads the peer's bytes into `p`; `null` once it said it left or finished
   * sending (see {@linkcode SecureChannel.peerEnd}).
   *
   * @throws {ConnectionLostError} when the connection ends without a goodbye.
   * @throws {RecordError} when a record does not authenticate or breaks the rules.
   */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#body.length === 0) {
      if (this.#ended) return null;
      // Everything read so far was taken: say so before waiting, unless more is already here.
      if (this.#toAck >= 0 && this.#reader.bufferedBytes === 0) await this.#acknowledge();
      let record: ParleyRecord | null;
      try {
        const stash = this.#stash;
        this.#stash = undefined;
        if (stash !== undefined && "error" in stash) throw stash.error;
        if (stash === undefined && this.#reader.opening === 0) {
          // About to wait for the peer: our next record's cipher is made meanwhile, not when a line is to go.
          this.#writer.prepare();
        }
        record = stash !== undefined ? stash.record : await this.#next();
      } catch (error) {
        if (error instanceof Error) this.#gone.resolve(error);
        throw error;
      }
      if (record === null) {
        this.#ended = true;
        await this.#acknowledge(true);
        if (this.#peerEnd === "left") this.#gone.resolve(undefined);
        // A peer that only finished sending still reads ours, and acknowledges it: keep reading its records.
        else this.#drain();
        return null;
      }
      if (record.type === RecordType.Data || record.type === RecordType.DataAck) {
        this.#body = record.body;
        this.#toAck = this.#lastData = record.seq;
      }
    }
    let n = this.#take(p, 0);
    // More records already here (a bulk transfer): hand them over in the same read, never waiting for the network.
    // Only DATA is taken so; anything else waits for the next read.
    // One record at a time, and only those already read in full: never a wait for the network here.
    while (n < p.length && this.#body.length === 0 && this.#reader.opening > 0) {
      // What ends the stream (or fails it) is kept for the next read: these bytes come first.
      const next = await this.#one().then((record) => ({ record }), (error: unknown) => ({ error }));
      if ("record" in next && next.record === "ack") continue;
      if (!("record" in next) || next.record === null) {
        this.#stash = next as { record: null } | { error: unknown };
        break;
      }
      const record = next.record as ParleyRecord;
      this.#body = record.body;
      this.#toAck = this.#lastData = record.seq;
      n = this.#take(p, n);
    }
    return n;
  }

  /** Copies what it can of the current DATA body into `p` from `at`; resolves to where `p` is filled to. */
  #take(p: Uint8Array, at: number): number {
    const n = Math.min(p.length - at, this.#body.length);
    p.set(this.#body.subarray(0, n), at);
    this.#body = this.#body.subarray(n);
    return at + n;
  }

  /**
   * Sends `p` in DATA records of at most 64 KiB, sealed at once and
   * written in one write, in order. It returns once `p` is copied and no more than
   * {@linkcode WRITE_WINDOW_BYTES} wait to be sealed and written, so that
   * sealing overlaps with what comes next; a write that fails is reported
   * by the next call (or by `closeWrite`, `leave`). What reached the peer is
   * known from its confirmations, not from here.
   */
  async write(p: Uint8Array): Promise<number> {
    if (this.#writeFailure !== undefined) throw this.#writeFailure.error;
    if (p.length === 0) return 0;
    // Every record of `p` sealed into one buffer and written at once: one write, not one per record.
    const ack = this.#takeAckDue();
    // As the writer cuts them: with an ACK riding along, the first record holds 8 bytes fewer.
    let seq = this.#writer.sent;
    let start = ack === undefined ? 0 : Math.min(p.length, MAX_RECORD_BODY - ACK_BODY_BYTES);
    if (start > 0) this.#pending.push({ seq: seq++, bytes: start });
    for (; start < p.length; start += MAX_RECORD_BODY) {
      this.#pending.push({ seq: seq++, bytes: Math.min(MAX_RECORD_BODY, p.length - start) });
    }
    const size = p.length;
    this.#writing += size;
    this.#inFlight.push(
      this.#writer.sendLines(p, ack).then(() => {
        this.#writing -= size;
      }, (error) => {
        this.#writing -= size;
        this.#writeFailure ??= { error };
      }),
    );
    this.#unconfirmed += p.length;
    while (this.#writing > WRITE_WINDOW_BYTES && this.#inFlight.length > 0) await this.#inFlight.shift();
    if (this.#inFlight.length > 64) this.#inFlight = this.#inFlight.slice(-64);
    const failure = this.#writeFailure as { error: unknown } | undefined;
    if (failure !== undefined) throw failure.error;
    return p.length;
  }

  /** Says that we finished sending (END); we still read. */
  async closeWrite(): Promise<void> {
    if (this.#writeEnded) return;
    this.#writeEnded = true;
    await this.#writer.sendEnd();
  }

  /**
   * Says goodbye (LEAVE) and ends our direction of the connection; we still
   * read until the peer closes. What the session has received is
   * acknowledged first: it is shown whatever way the session ends.
   */
  async leave(): Promise<void> {
    if (this.#lastData > this.#acked) {
      this.#toAck = this.#lastData;
      await this.#acknowledge(true);
    }
    if (this.#writeEnded) {
      // After END the goodbye still tells the peer we left, not only finished.
      await this.#writer.sendLeave().catch(() => {});
    } else {
      this.#writeEnded = true;
      await this.#writer.sendLeave();
    }
    await this.#conn.closeWrite();
  }

  /**
   * Once we have said goodbye: waits for the peer's own goodbye (or the
   * connection's end), as long as the peer keeps confirming what we sent
   * (it is still showing it) and at least `quietMs`; never longer than
   * `maxMs`. So a bulk transfer is not cut short at its end, and a peer
   * that stops confirming cannot hold us.
   */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const limit = deadline(maxMs);
    try {
      let progress = this.#confirmedTotal;
      for (;;) {
        const quiet = deadline(quietMs);
        const why = await Promise.race([
          this.#gone.promise.then(() => "gone"),
          quiet.promise.then(() => "quiet"),
          limit.promise.then(() => "limit"),
        ]);
        quiet.cancel();
        if (why !== "quiet" || this.#confirmedTotal === progress || this.#unconfirmed === 0) return;
        progress = this.#confirmedTotal;
      }
    } finally {
      limit.cancel();
    }
  }

  /** Closes the connection; a pending read or write then fails. */
  close(): void {
    this.#closed = true;
    this.#ackTimer?.cancel();
    this.#writer.release();
    this.#reader.release();
    this.#conn.close();
  }

  /** After the peer's END: takes its ACKs, and its LEAVE or the connection's end, until either or our close. */
  async #drain(): Promise<void> {
    try {
      // Nothing but ACKs may come before LEAVE now (the reader refuses DATA after END).
      while ((await this.#next()) !== null);
      this.#gone.resolve(this.#peerEnd === "left" ? undefined : this.#cut());
    } catch (error) {
      if (!this.#closed && error instanceof Error) this.#gone.resolve(error);
    }
  }

  /** The next record that matters to the session; ACKs are taken in passing. */
  async #next(): Promise<ParleyRecord | null> {
    for (;;) {
      const record = await this.#one();
      if (record === "ack") continue;
      return record;
    }
  }

  /**
   * The next record, with what it means taken in: an ACK is applied (and
   * returned as `"ack"`); END and LEAVE set how the peer's direction ended
   * (and return `null`, as the stream's end does); DATA is returned.
   */
  async #one(): Promise<ParleyRecord | "ack" | null> {
    let record: ParleyRecord | null;
    try {
      record = await this.#reader.next();
    } catch (error) {
      if (error instanceof PlainLineError) throw this.#refusal?.(error.line) ?? error;
      if (!isIoError(error)) throw error;
      throw new ConnectionLostError(`Connection with ${this.#peerName} lost: ${describeIoError(error)}`, {
        cause: error,
      });
    }
    if (record === null) {
      if (this.#peerEnd === undefined) throw this.#cut();
      return null;
    }
    switch (record.type) {
      case RecordType.Ack:
      case RecordType.DataAck:
        if (record.acked >= this.#writer.sent) {
          throw new RecordError(`${this.#peerName} acknowledged record ${record.acked}, which was never sent`);
        }
        this.#confirm(record.acked);
        return record.type === RecordType.Ack ? "ack" : record;
      case RecordType.End:
        this.#peerEnd ??= "finished";
        // A peer that only finished sending still reads: its end is ours to report now.
        return null;
      case RecordType.Leave:
        this.#peerEnd = "left";
        return null;
      default:
        return record;
    }
  }

  /** The error of a connection that ended without the peer's goodbye. */
  #cut(): ConnectionLostError {
    return new ConnectionLostError(
      `Connection with ${this.#peerName} lost: it ended without a goodbye (cut on the way, or the program died)`,
    );
  }

  /** The peer has taken every DATA record of ours up to `seq`. */
  #confirm(seq: number): void {
    let bytes = 0;
    while (this.#head < this.#pending.length && this.#pending[this.#head].seq <= seq) {
      bytes += this.#pending[this.#head++].bytes;
    }
    if (this.#head === this.#pending.length) {
      this.#pending = [];
      this.#head = 0;
    }
    if (bytes === 0) return;
    this.#unconfirmed -= bytes;
    this.#confirmedTotal += bytes;
    for (const listener of this.#listeners) listener(bytes);
  }

  /** Acknowledges what the session has read, if anything; a failure here shows at the next write. */
  /**
   * Acknowledges what the session has read: at once when `now` (the stream
   * ends, or we leave), else within {@linkcode ACK_DELAY_MS}, so that an
   * answer written meanwhile carries the ACK in the same write.
   */
  async #acknowledge(now = false): Promise<void> {
    if (this.#toAck >= 0) {
      this.#ackDue = Math.max(this.#ackDue, this.#toAck);
      this.#toAck = -1;
    }
    if (this.#ackDue <= this.#acked) return;
    if (now) return await this.#sendAck();
    this.#ackTimer ??= deadline(ACK_DELAY_MS, () => {
      this.#ackTimer = undefined;
      void this.#sendAck();
    });
  }

  /** Sends the ACK that is due, alone. */
  async #sendAck(): Promise<void> {
    const seq = this.#ackDue;
    if (seq <= this.#acked) return;
    this.#acked = seq;
    await this.#writer.sendAck(seq).catch(() => {});
  }

  /**
   * The ACK due to ride with the next DATA record, if any (and it is no
   * longer due alone). Its timer runs on and finds nothing due: one timer
   * per {@linkcode ACK_DELAY_MS} at most, not one per line answered.
   */
  #takeAckDue(): number | undefined {
    if (this.#ackDue <= this.#acked) return undefined;
    this.#acked = this.#ackDue;
    return this.#ackDue;
  }
}
