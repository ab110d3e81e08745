/**
 * One conversation over one connection, shared by the server and the client.
 *
 * In the default **alternating** mode, turns alternate as in the original
 * send/receive chain: the side that speaks first sends one line, then waits
 * for a line from the other side, and so on. Lines typed out of turn wait in
 * the {@linkcode InputQueue} and go out one per turn, in order.
 *
 * In **duplex** mode either side sends whenever it likes. At the end of our
 * input we close only our sending direction (half-close) and keep receiving
 * until the peer is done too; when the peer finishes first, we keep sending.
 *
 * In both modes the connection is read at all times, so lines are shown as
 * they arrive and a peer that leaves is noticed at once. The session ends when
 * the peer leaves, when our input ends (after every queued line is sent,
 * and in alternating mode once the turn is ours again), when
 * `signal` aborts (Ctrl+C, SIGTERM), or on an error.
 *
 * @module
 */

import { BufferedWriter } from "./io/buffered_writer.ts";
import { closeQuietly, resetAfterEnd } from "./io/channel.ts";
import {
  ConnectionLostError,
  describeIoError,
  IdleTimeoutError,
  isIoError,
  ParleyError,
  ProtocolError,
} from "./io/errors.ts";
import { type Deadline, deadline, pause, Timer } from "./io/time.ts";
import { type Channel, type EndTelling, type Reader, tellsEnds } from "./io/types.ts";
import type { InputEvent, InputQueue } from "./session/input_queue.ts";
import type { SessionMode, SessionNotice, SessionView } from "./session/view.ts";
import { BULK_BUFFER_BYTES, LineReader, LineTooLongError } from "./wire/line_reader.ts";

/** The view's vocabulary, for callers of {@linkcode runSession}. */
export type { SessionMode, SessionNotice, SessionView };

/** Options for {@linkcode runSession}. */
export interface SessionOptions {
  /** True for the side that speaks first (the client). */
  speaksFirst: boolean;
  /** How the sides take turns; alternating by default. */
  mode?: SessionMode;
  /** Longest line accepted from the peer, in bytes. */
  maxLineBytes: number;
  /** How the peer is named in messages, for example `[::1]:4747`. */
  peerName: string;
  /** Ends the session, as Ctrl+C does. */
  signal?: AbortSignal;
  /** How long to keep reading after we stop sending, before closing (ms). */
  lingerMs?: number;
  /** End the session after this long without a message either way (ms). */
  idleTimeoutMs?: number;
  /** Where to read the peer's lines from, if not straight from the connection. */
  source?: Reader;
}

/** Why a session ended normally. */
export type SessionEnd =
  /** The peer closed the connection. */
  | "peer-left"
  /** Our input ended and every line in it was sent. */
  | "input-ended"
  /** We were interrupted (Ctrl+C, SIGTERM). */
  | "interrupted";

/** How a session went. */
export interface SessionResult {
  /** Why it ended. */
  end: SessionEnd;
  /** Lines we sent. */
  sent: number;
  /** Lines we received. */
  received: number;
  /** Lines that were waiting to be sent when it ended; they were dropped. */
  unsent: number;
}

type Outcome = { end: SessionEnd } | { error: unknown };

/** Time to wait for the peer's end after we stop sending. */
const DEFAULT_LINGER_MS = 1000;
/**
 * The same wait when the person pressed Ctrl+C (or a signal came): they want
 * out. A duplex peer reads our end as "finished sending" and keeps its own
 * direction open, so the whole linger would always run; this is still time
 * for the peer to read our last line on any reasonable link.
 */
const INTERRUPTED_LINGER_MS = 200;
/**
 * A peer that closes with our lines unread may end its direction first and
 * reset a moment later (Deno does both in one close): how long we wait for
 * that reset before we take the end as the peer leaving.
 */
const RESET_GRACE_MS = 50;
/**
 * Duplex, once the peer has ended its direction: it may only have finished
 * sending, or it may have left, and TCP tells the two apart only when we
 * write (a peer that left answers with a reset, one round trip later). So a
 * line sent then is shown as sent only after this long without a reset; a
 * longer round trip shows as a failed write at the next line instead.
 */
const PEER_CHECK_MS = 250;
/**
 * Secure session: longest wait after our goodbye while the peer still
 * confirms our lines (a bulk transfer it is still taking in); Ctrl+C does
 * not wait so.
 */
const SETTLE_MAX_MS = 60_000;
/** After this long without a write of ours, the next one is checked again. */
const PEER_QUIET_MS = 1000;
/** Most bytes of lines kept to be shown once a check ends; beyond that, lines are shown as they go (bulk). */
const MAX_UNCONFIRMED_BYTES = 64 * 1024;

/**
 * Holds one conversation on `conn` and closes it.
 *
 * @throws {ConnectionLostError} when the connection fails.
 * @throws {ProtocolError} when the peer sends a line over the limit.
 * @throws {ParleyError} as thrown by the view, for example an `OutputError`.
 */
export function runSession(
  conn: Channel,
  input: InputQueue,
  view: SessionView,
  options: SessionOptions,
): Promise<SessionResult> {
  return new Session(conn, input, view, options).run();
}

class Session {
  #conn: Channel;
  #input: InputQueue;
  #view: SessionView;
  #options: SessionOptions;
  #reader: LineReader;
  #writer: BufferedWriter;
  #myTurn: boolean;
  /** The peer was seen not taking turns, and the view told. */
  #toldNotAlternating = false;
  #state: "open" | "leaving" | "closed" = "open";
  #outcome = Promise.withResolvers<Outcome>();
  #sending: Promise<void> | undefined;
  /** A failure found while leaving that still decides how the session ended. */
  #lateError: unknown;
  #duplex: boolean;
  /** The channel says how the peer's direction ended (the secure session): no guessing from resets. */
  #endsTold: boolean;
  #idleTimer: Timer | undefined;
  #writeClosed = false;
  /** The view is busy with the peer's lines (our output may be blocked). */
  #showing = false;
  /** Reading has stopped for good: it failed, or we closed the connection. */
  #readFailed = false;
  #peerDone = false;
  /** Duplex, the peer's direction ended: the next write is checked for a reset. */
  #checkNextWrite = false;
  /** When our last write was flushed (`performance.now()`). */
  #lastWriteAt = 0;
  /** Lines written while a check runs, to be shown once it ends (copies). */
  #unconfirmed: Uint8Array[] | undefined;
  #unconfirmedBytes = 0;
  #unconfirmedLines = 0;
  /** The check in progress, if any, and the wait that ends it early when the session ends. */
  #checking: Promise<void> | undefined;
  #checkWait: Deadline | undefined;
  /** Lines written that the peer, gone, never received. */
  #lost = 0;
  /** A write was refused after the peer's end: it has left. */
  #peerGone = false;
  /** Lines handed to the socket in full. */
  #sent = 0;
  /** Lines taken from the queue whose writing has not finished. */
  #inFlight = 0;
  #received = 0;

  constructor(conn: Channel, input: InputQueue, view: SessionView, options: SessionOptions) {
    this.#conn = conn;
    this.#input = input;
    this.#view = view;
    this.#options = options;
    this.#reader = new LineReader(options.source ?? conn, {
      maxLineBytes: options.maxLineBytes,
      minBufferBytes: BULK_BUFFER_BYTES,
    });
    this.#writer = new BufferedWriter(conn);
    this.#myTurn = options.speaksFirst;
    this.#duplex = options.mode === "duplex";
    this.#endsTold = tellsEnds(conn);
  }

  async run(): Promise<SessionResult> {
    const { signal } = this.#options;
    const onAbort = () => this.#finish({ end: "interrupted" });
    signal?.addEventListener("abort", onAbort, { once: true });
    const unsubscribe = this.#input.subscribe((event: InputEvent) => {
      if (event.kind === "changed") this.#step();
    });
    this.#touch();
    if (tellsEnds(this.#conn)) {
      // The peer may leave after it finished sending, while we still send: that ends the session too.
      this.#conn.peerGone.then((error) =>
        error === undefined ? this.#finish({ end: "peer-left" }) : this.#failed(error)
      );
    }
    const receiving = this.#receive();
    if (signal?.aborted) onAbort();
    this.#step();
    if (!this.#duplex && this.#sending === undefined) this.#view.turn(this.#myTurn);

    const outcome = await this.#outcome.promise;
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
    if ("end" in outcome && outcome.end !== "peer-left") {
      const linger = this.#options.lingerMs ?? DEFAULT_LINGER_MS;
      await this.#leave(receiving, outcome.end === "interrupted" ? Math.min(linger, INTERRUPTED_LINGER_MS) : linger);
    }
    this.#close();
    await receiving;
    await this.#sending;
    await this.#checking;
    // Lines taken for sending whose write never finished count as not sent, as do lines a gone peer never read.
    const unsent = this.#input.clear() + this.#inFlight + this.#lost;
    // Lines received before a failure were accepted: they are shown first.
    const flushed = this.#view.flush();
    if ("error" in outcome || this.#lateError !== undefined) {
      await flushed.catch(() => {});
      throw "error" in outcome ? outcome.error : this.#lateError;
    }
    await flushed;
    return { end: outcome.end, sent: this.#sent, received: this.#received, unsent };
  }

  #finish(outcome: Outcome): void {
    if (this.#state !== "open") return;
    this.#state = "leaving";
    // A check of the peer's presence tells nothing more now: its lines count as sent, or as lost if the peer is gone.
    this.#checkWait?.cancel();
    this.#idleTimer?.stop();
    this.#outcome.resolve(outcome);
  }

  /** Something was said: the idle time limit starts again. */
  #touch(): void {
    const limit = this.#options.idleTimeoutMs;
    if (limit === undefined || this.#state !== "open") return;
    // Made on first use: touching the timer functions at all costs a start-up's worth of loading.
    this.#idleTimer ??= new Timer(limit, () => {
      // Our own output not taking the peer's lines is no silence of theirs.
      if (this.#showing) return this.#touch();
      const seconds = Number((limit / 1000).toFixed(3));
      const message = `No message with ${this.#options.peerName} for ${seconds} s: closed the connection ` +
        "(--idle-timeout)";
      this.#finish({ error: new IdleTimeoutError(message) });
    });
    this.#idleTimer.start();
  }

  /** Sends what may be sent now, or ends our part when input is done. */
  #step(): void {
    if (this.#state !== "open" || this.#sending) return;
    if (this.#input.queued === 0) {
      if (!this.#input.ended) return;
      if (this.#duplex) this.#sending = this.#finishSending();
      // Each line is a turn the other side answers, as in the original
      // send/receive chain: leave when the turn is ours and we have nothing
      // more to say. So a side waits for the reply to its last line, and a
      // side that does not speak first waits for the other's first line.
      else if (this.#myTurn) this.#finish({ end: "input-ended" });
      return;
    }
    if (this.#duplex) {
      this.#sending = this.#sendQueued(false);
      return;
    }
    if (!this.#myTurn) return;
    this.#myTurn = false;
    this.#sending = this.#sendQueued(true);
  }

  /**
   * Sends the oldest queued line, or every queued line, coalesced into few
   * writes. Waiting for the socket to take them is what holds a fast writer
   * back.
   */
  async #sendQueued(oneLine: boolean): Promise<void> {
    const open = await this.#outgoing(async () => {
      let check = !this.#endsTold && this.#peerDone && this.#checking === undefined &&
        (this.#checkNextWrite || performance.now() - this.#lastWriteAt >= PEER_QUIET_MS);
      while (this.#state === "open") {
        const run = oneLine ? { bytes: this.#input.shift(), lines: 1 } : this.#input.shiftRun();
        if (run?.bytes === undefined) break;
        this.#inFlight += run.lines;
        await this.#writer.write(run.bytes);
        this.#touch();
        if (check) {
          check = false;
          await this.#writer.flush();
          this.#startCheck();
        }
        if (this.#unconfirmed !== undefined && this.#unconfirmedBytes + run.bytes.length > MAX_UNCONFIRMED_BYTES) {
          // Bulk: too much to hold. What is held is shown first, in order, and the rest as it goes.
          for (const bytes of this.#unconfirmed) this.#view.sent(bytes);
          this.#sent += this.#unconfirmedLines;
          this.#unconfirmed = undefined;
          this.#unconfirmedBytes = this.#unconfirmedLines = 0;
        }
        if (this.#unconfirmed !== undefined) {
          // Shown once the check ends, in order: a copy, so that the queue may reuse its memory now.
          this.#unconfirmed.push(run.bytes.slice());
          this.#unconfirmedBytes += run.bytes.length;
          this.#unconfirmedLines += run.lines;
          this.#inFlight -= run.lines;
        } else {
          this.#view.sent(run.bytes, run.lines);
        }
        // Written (or copied into the writer) and shown: the queue may reuse the memory.
        this.#input.release();
        if (oneLine) break;
      }
      await this.#writer.flush();
      this.#lastWriteAt = performance.now();
      this.#sent += this.#inFlight;
      this.#inFlight = 0;
    });
    if (!open) return;
    if (!this.#duplex && !this.#myTurn) this.#view.turn(false);
    this.#step();
  }

  /**
   * Duplex, after the peer's end: the lines just written are shown as sent
   * only once no reset came back for {@linkcode PEER_CHECK_MS}. A reset means
   * the peer has left: the session ends, and those lines count as not sent.
   * Sending goes on meanwhile.
   */
  #startCheck(): void {
    this.#checkNextWrite = false;
    this.#unconfirmed = [];
    // A deadline, not a timer: the session's own reads keep the process running meanwhile.
    const wait = this.#checkWait = deadline(PEER_CHECK_MS);
    this.#checking = (async () => {
      await wait.promise;
      this.#checkWait = undefined;
      // Once our direction is closed an empty write fails anyway: it tells nothing then.
      const gone = this.#peerGone || (!this.#writeClosed && await resetAfterEnd(this.#conn) !== undefined);
      const runs = this.#unconfirmed ?? [];
      const lines = this.#unconfirmedLines;
      this.#unconfirmed = undefined;
      this.#unconfirmedBytes = this.#unconfirmedLines = 0;
      this.#checking = undefined;
      if (gone) {
        this.#lost += lines;
        this.#peerGone = true;
        this.#finish({ end: "peer-left" });
        return;
      }
      for (const bytes of runs) this.#view.sent(bytes);
      this.#sent += lines;
    })();
  }

  /** Ends the wait of a running check at once and lets it finish: it probes now, or tells nothing. */
  async #concludeCheck(): Promise<void> {
    this.#checkWait?.cancel();
    await this.#checking;
  }

  /** Duplex: all our lines are out; close our direction and keep receiving. */
  async #finishSending(): Promise<void> {
    // A check still running learns what it can now, while our direction is open.
    await this.#concludeCheck();
    if (this.#state !== "open") return;
    if (!(await this.#outgoing(() => this.#closeWrite()))) return;
    if (this.#peerDone) this.#finish({ end: "input-ended" });
    else this.#view.notice("finished-sending");
  }

  /**
   * Runs one piece of sending; a failure ends the session. Resolves to true
   * when the session is still open afterwards.
   */
  async #outgoing(work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      return this.#state === "open";
    } catch (error) {
      if (this.#state !== "open") return false;
      // After the peer's end, a write refused means the peer has left, with our lines unread.
      if (this.#peerDone && (error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)) {
        this.#peerGone = true;
        this.#finish({ end: "peer-left" });
      } else {
        this.#finish({ error: this.#translate(error) });
      }
      return false;
    } finally {
      this.#sending = undefined;
    }
  }

  async #receive(): Promise<void> {
    const reader = this.#reader;
    try {
      for (;;) {
        // Plain lines pass in runs; any other line is shown on its own.
        const run = reader.tryReadPlainLines(this.#view.passThrough);
        let count = 1;
        if (run !== undefined) {
          count = run.lines;
          await this.#show(this.#view.peerLines(run.bytes, run.lines));
        } else {
          const line = reader.tryReadLineBytes();
          if (line === undefined) {
            await this.#show(this.#view.flush());
            await this.#fill();
            continue;
          }
          if (line === null) break;
          await this.#show(this.#view.peerLine(line));
        }
        this.#received += count;
        this.#touch();
        if (!this.#duplex && !this.#toldNotAlternating && (count > 1 || this.#myTurn)) {
          this.#toldNotAlternating = true;
          this.#view.notice("peer-not-alternating");
        }
        if (!this.#duplex && !this.#myTurn && this.#state === "open") {
          this.#myTurn = true;
          this.#step();
          // A queued line may have gone out at once; then it is theirs again.
          if (this.#myTurn) this.#view.turn(true);
        }
      }
      // Reading failed, or we closed the connection: what came before is shown; nothing more to learn.
      if (this.#readFailed) return;
      if (tellsEnds(this.#conn)) {
        // Told, not guessed: the peer left, or (duplex) only finished sending and still reads.
        if (this.#conn.peerEnd === "finished" && this.#duplex && this.#state === "open") {
          this.#peerDone = true;
          this.#view.notice("peer-finished");
          if (this.#writeClosed) this.#finish({ end: "input-ended" });
        } else this.#finish({ end: "peer-left" });
        return;
      }
      // Once we have closed our direction, the probe cannot work.
      const probing = () => this.#state === "open" && !this.#writeClosed;
      if (probing()) await this.#checkNotReset();
      // In duplex, the peer may be done sending but still read: we go on until we are done.
      const peerFirst = this.#duplex && probing();
      if (peerFirst) {
        this.#peerDone = true;
        this.#checkNextWrite = true;
        this.#view.notice("peer-finished");
      }
      if (this.#sent > 0 && probing()) {
        await pause(RESET_GRACE_MS);
        if (probing()) await this.#checkNotReset();
      }
      if (!peerFirst) this.#finish({ end: "peer-left" });
    } catch (error) {
      // A line over the limit, our output failing, a reset found by the probe.
      this.#failed(error);
    }
  }

  /** Waits for the view to take the peer's lines; meanwhile the idle limit does not run out. */
  async #show(showing: Promise<void>): Promise<void> {
    this.#showing = true;
    try {
      await showing;
    } finally {
      this.#showing = false;
    }
  }

  /**
   * Reads more of the peer's bytes. When reading fails, or ends because we
   * closed the connection, the session learns why, and the reader is told
   * that the stream ends here: the lines it holds, and a last line without
   * its end, are still shown. Whatever way a session ends, what the peer
   * sent before it is not lost.
   */
  async #fill(): Promise<void> {
    try {
      await this.#reader.fill();
    } catch (error) {
      this.#readFailed = true;
      this.#reader.finish();
      // Once we have closed the connection, a pending read fails: expected.
      if (this.#state !== "closed") this.#failed(error);
    }
  }

  /** Something went wrong with the connection or the view: it decides how the session ends. */
  #failed(error: unknown): void {
    const failure = this.#translate(error);
    if (this.#state === "open") this.#finish({ error: failure });
    // While we wait for the peer's end, being turned away or a broken
    // limit still decides the outcome; the connection ending does not.
    else if (!(failure instanceof ConnectionLostError)) this.#lateError ??= failure;
  }

  /**
   * Makes sure the end of the peer's stream was an end, not a reset.
   *
   * @throws {ConnectionLostError} when the connection was reset.
   */
  async #checkNotReset(): Promise<void> {
    const reset = await resetAfterEnd(this.#conn);
    if (reset === undefined) return;
    const peer = this.#options.peerName;
    throw new ConnectionLostError(`Connection with ${peer} lost: connection reset by peer`, { cause: reset });
  }

  /**
   * Stops sending and lets the peer see our end before the connection
   * closes. Every step is bounded by the linger time: a write the peer never
   * takes, or an end of ours it never answers, cannot hold us (closing the
   * connection afterwards ends whatever is still pending).
   */
  async #leave(receiving: Promise<void>, lingerMs: number): Promise<void> {
    const linger = deadline(lingerMs);
    try {
      await Promise.race([this.#sending, linger.promise]);
      await this.#concludeCheck();
      // Ending our direction waits for a pending write to finish; a secure session says goodbye.
      const conn = this.#conn;
      const ending = tellsEnds(conn) ? this.#leaveChannel(conn) : this.#closeWrite();
      await Promise.race([ending.catch(ignoreIoError), linger.promise]);
      if (tellsEnds(conn)) {
        // The peer confirms what it takes: wait while it still does (a bulk transfer's end), within bounds.
        linger.cancel();
        await conn.settle(lingerMs, lingerMs < DEFAULT_LINGER_MS ? lingerMs : SETTLE_MAX_MS);
        return;
      }
      // Reading on until the peer closes too avoids a reset that could destroy
      // our last line before the peer reads it.
      await Promise.race([receiving, linger.promise]);
    } catch (error) {
      if (!isIoError(error)) throw error;
    } finally {
      linger.cancel();
    }
  }

  async #leaveChannel(conn: EndTelling): Promise<void> {
    this.#writeClosed = true;
    await conn.leave();
  }

  async #closeWrite(): Promise<void> {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    await this.#conn.closeWrite();
  }

  #close(): void {
    this.#state = "closed";
    closeQuietly(this.#conn);
  }

  #translate(error: unknown): unknown {
    const peer = this.#options.peerName;
    if (error instanceof LineTooLongError) {
      return new ProtocolError(`${peer} sent a line longer than ${error.limit} bytes (see --max-line)`);
    }
    if (error instanceof ParleyError) return error;
    if (isIoError(error)) {
      return new ConnectionLostError(`Connection with ${peer} lost: ${describeIoError(error)}`, { cause: error });
    }
    return error;
  }
}

/** Lets an I/O error pass unnoticed (for an operation whose end no one waits for); rethrows anything else. */
function ignoreIoError(error: unknown): void {
  if (!isIoError(error)) throw error;
}
