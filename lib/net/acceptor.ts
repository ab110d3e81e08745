/**
 * Accepting clients one session at a time.
 *
 * Each new connection is first screened by address (refused ones are closed
 * at once), then secured (TLS) and readied (shared secret) within one time
 * limit, several at once but not too many. The first ready client gets the
 * session; while a session runs, every other connection gets one line
 * beginning with `busy` — over TLS when the server uses it — and is closed.
 * The running session never notices.
 *
 * Connections in their handshake, and connections being turned away, take
 * places in two bounded {@linkcode Admission} pools, with a share per source
 * address: when a pool is full the newcomer gets in and the longest-held
 * place of the heaviest source is taken back, so a stranger's stalled
 * connections never keep a client from another address out. A connection
 * evicted from its handshake is told so in a line beginning with `busy`,
 * where the connection can still carry one. And each source may open only so
 * many connections a second ({@linkcode RateLimit}): beyond that they are
 * closed at once, so that dropping stalled connections cannot be turned into
 * making the server work through an endless stream of new ones.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { closeQuietly } from "../io/channel.ts";
import { describeIoError, isIoError, ParleyError } from "../io/errors.ts";
import { deadline, type Sleep, sleep } from "../io/time.ts";
import type { Channel } from "../io/types.ts";
import { OVERLOADED_LINE, RATE_LINE } from "../wire/protocol.ts";
import { formatNetAddr } from "./address.ts";
import { Admission, sourceOf } from "./admission.ts";
import type { Listener } from "./listen.ts";
import { RateLimit } from "./rate_limit.ts";

/** Options for {@linkcode Acceptor}. */
export interface AcceptorOptions<T> {
  /** The line sent to a client turned away, without `\n`; starts with `busy`. */
  busyLine: string;
  /** Why a new connection is refused at once, or `undefined` to go on. */
  screen?: (conn: Deno.Conn) => string | undefined;
  /** The line sent to a refused client, without `\n`; none when undefined. */
  refusedLine?: string;
  /**
   * Secures a new connection (TLS); rejects to drop it. Without it, the
   * connection is used as it is.
   */
  secure?: (conn: Deno.Conn, signal: AbortSignal) => Promise<Channel>;
  /**
   * Readies a secured connection for a session (shared secret); rejects to
   * drop it. `signal` aborts when time is up, and the connection is then closed.
   */
  ready: (channel: Channel, conn: Deno.Conn, signal: AbortSignal) => Promise<T>;
  /** Time limit for securing and readying one connection (ms). */
  readyMs: number;
  /** Most connections being readied at once; a newcomer beyond that evicts one (see the module doc). */
  maxReadying?: number;
  /** Most connections from one source being readied at once. */
  maxReadyingPerSource?: number;
  /** New connections one source may open per second, over time; more are closed at once. */
  connectionsPerSecond?: number;
  /** New connections one source may open at once, after a quiet time. */
  connectionBurst?: number;
  /** Told, in one line naming the peer, why a connection from `source` was dropped before its session. */
  onDrop?: (message: string, source: string) => void;
  /** Longest time a turned-away connection is kept open (ms). */
  rejectMs?: number;
  /** Most turned-away connections handled at once; a newcomer beyond that evicts one. */
  maxRejecting?: number;
}

const DEFAULT_REJECT_MS = 1000;
const DEFAULT_MAX_REJECTING = 256;
const DEFAULT_MAX_READYING = 32;
const DEFAULT_MAX_READYING_PER_SOURCE = 8;
const DEFAULT_CONNECTIONS_PER_SECOND = 10;
const DEFAULT_CONNECTION_BURST = 20;
/** The source given for a connection whose address is not known. */
const UNKNOWN_SOURCE = "an unknown address";
/** Why a handshake was aborted to make room for a newer one. */
const EVICTED = Symbol("evicted");
/** Pause after a failed accept (for example out of file descriptors). */
const ACCEPT_RETRY_MS = 50;
/** Bytes read and dropped from a turned-away client at most. */
const MAX_DRAIN_BYTES = 64 * 1024;

/** Hands out ready connections one at a time and turns the rest away. */
export class Acceptor<T extends { conn: Channel }> {
  #listeners: Listener[];
  #options: AcceptorOptions<T>;
  #busyLine: Uint8Array;
  #overloadedLine = new TextEncoder().encode(OVERLOADED_LINE + "\n");
  #rateLine = new TextEncoder().encode(RATE_LINE + "\n");
  #refusedLine: Uint8Array | undefined;
  #waiter: PromiseWithResolvers<T | null> | undefined;
  #held: T | undefined;
  #busy = false;
  #stopped = false;
  #readying = new Map<Promise<void>, AbortController>();
  #rejecting = new Set<Promise<void>>();
  #handshakes: Admission;
  #turningAway: Admission;
  #rate: RateLimit;
  #retry: Sleep | undefined;
  #loops: Promise<void>[];

  /** Starts accepting on every listener. */
  constructor(listeners: Listener[], options: AcceptorOptions<T>) {
    this.#listeners = listeners;
    this.#options = options;
    this.#busyLine = new TextEncoder().encode(options.busyLine + "\n");
    this.#refusedLine = options.refusedLine === undefined
      ? undefined
      : new TextEncoder().encode(options.refusedLine + "\n");
    this.#handshakes = new Admission({
      max: options.maxReadying ?? DEFAULT_MAX_READYING,
      maxPerSource: options.maxReadyingPerSource ?? DEFAULT_MAX_READYING_PER_SOURCE,
    });
    this.#turningAway = new Admission({ max: options.maxRejecting ?? DEFAULT_MAX_REJECTING });
    this.#rate = new RateLimit({
      burst: options.connectionBurst ?? DEFAULT_CONNECTION_BURST,
      perSecond: options.connectionsPerSecond ?? DEFAULT_CONNECTIONS_PER_SECOND,
    });
    this.#loops = listeners.map((listener) => this.#acceptLoop(listener));
  }

  /** Connections being turned away right now. */
  get rejecting(): number {
    return this.#rejecting.size;
  }

  /**
   * Waits for the next ready client and marks the acceptor busy until
   * {@linkcode release}. Resolves to `null` once stopped.
   */
  next(): Promise<T | null> {
    if (this.#stopped) return Promise.resolve(null);
    const held = this.#held;
    if (held !== undefined) {
      this.#held = undefined;
      this.#busy = true;
      return Promise.resolve(held);
    }
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }

  /** The session is over: the next ready connection may start a new one. */
  release(): void {
    this.#busy = false;
  }

  /** Stops accepting: closes the listeners; a pending `next` gets `null`. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#retry?.cancel();
    for (const listener of this.#listeners) listener.close();
    this.#waiter?.resolve(null);
    this.#waiter = undefined;
    if (this.#held !== undefined) closeQuietly(this.#held.conn);
    this.#held = undefined;
    for (const controller of this.#readying.values()) controller.abort();
  }

  /** Stops, then waits until every connection not handed out is closed. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.#loops);
    await Promise.all(this.#readying.keys());
    await Promise.all(this.#rejecting);
  }

  async #acceptLoop(listener: Listener): Promise<void> {
    while (!this.#stopped) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#stopped) return;
        if (!isIoError(error)) throw error;
        const code = "code" in error ? error.code : undefined;
        // Deno cannot name a peer that reset before its connection was accepted.
        if (code === "ENOTCONN" || code === "ECONNABORTED" || code === "ECONNRESET") {
          this.#options.onDrop?.("a connection was reset by its peer before it could be accepted", UNKNOWN_SOURCE);
          continue;
        }
        // No descriptors left, say: try again shortly.
        this.#options.onDrop?.(`Cannot accept a connection: ${describeIoError(error)}`, UNKNOWN_SOURCE);
        this.#retry = sleep(ACCEPT_RETRY_MS);
        await this.#retry.promise;
        continue;
      }
      if (this.#stopped) {
        closeQuietly(conn);
        return;
      }
      try {
        if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
      } catch (error) {
        // Gone already (reset): the handshake will find out and say so.
        if (!isIoError(error)) throw error;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    const source = sourceOf(conn.remoteAddr);
    if (!this.#rate.take(source)) {
      // Opening connection after connection (to churn the places, say): no work for any of them,
      // but one line where one can be read, so that a real client knows why.
      if (this.#options.secure) closeQuietly(conn);
      else this.#tellAndClose(conn, this.#rateLine);
      this.#options.onDrop?.(
        `${formatNetAddr(conn.remoteAddr)} closed at once: its address opens too many connections ` +
          `(more than ${this.#options.connectionsPerSecond ?? DEFAULT_CONNECTIONS_PER_SECOND} a second)`,
        source,
      );
      return;
    }
    const refusal = this.#options.screen?.(conn);
    if (refusal !== undefined) {
      if (this.#refusedLine === undefined) closeQuietly(conn);
      else this.#turnAway(conn, this.#refusedLine, source);
      this.#options.onDrop?.(`${formatNetAddr(conn.remoteAddr)} refused: ${refusal}`, source);
      return;
    }
    const controller = new AbortController();
    const place = this.#handshakes.admit(source, () => controller.abort(EVICTED));
    const readying = this.#prepare(conn, source, controller).finally(() => place.release());
    this.#readying.set(readying, controller);
    readying.finally(() => this.#readying.delete(readying));
  }

  /** Secures and readies `conn` within the time limit, then hands it out or turns it away. */
  async #prepare(conn: Deno.Conn, source: string, controller: AbortController): Promise<void> {
    const peerName = formatNetAddr(conn.remoteAddr);
    const limit = this.#options.readyMs;
    // The handshake's reads and writes keep the process running meanwhile.
    const handshakeLimit = deadline(limit, () => controller.abort());
    // Where a line can still reach the client in plain words: not in the midst of TLS.
    let speakable: Channel | undefined = this.#options.secure ? undefined : conn;
    // Closing the connection is what makes a pending handshake give up. One
    // evicted for a newer one is told why, where it can be.
    controller.signal.addEventListener("abort", () => {
      if (controller.signal.reason === EVICTED && speakable !== undefined && !this.#stopped) {
        this.#turnAway(speakable, this.#overloadedLine, source, { drain: false });
      } else {
        closeQuietly(conn);
      }
    }, { once: true });
    let channel: Channel = conn;
    let ready: T | undefined;
    try {
      if (this.#options.secure) {
        channel = await this.#options.secure(conn, controller.signal);
        speakable = channel;
        if (controller.signal.aborted) throw controller.signal.reason;
      }
      // A client that comes while a session runs only needs to hear "busy".
      if (!this.#busy && this.#held === undefined) ready = await this.#options.ready(channel, conn, controller.signal);
    } catch (error) {
      if (controller.signal.aborted || !(error instanceof ParleyError) || channel === conn && this.#options.secure) {
        // Evicted (its own close is under way), out of time, or the connection failed.
        if (controller.signal.reason !== EVICTED) {
          closeQuietly(channel);
          closeQuietly(conn);
        }
      } else {
        // The client broke the handshake (a wrong secret, say), and the
        // server has said so: end politely — over TLS, with a proper TLS
        // close — so that the client reads why instead of a cut connection.
        this.#turnAway(channel, new Uint8Array(0), source);
      }
      if (this.#stopped) return;
      // Whatever a remote peer does must not bring the server down: drop it and say why.
      const message = controller.signal.reason === EVICTED
        ? `${peerName} dropped to make room: too many connections in handshake at once, the most from its address`
        : handshakeLimit.expired
        ? `${peerName} dropped: no handshake within ${limit / 1000} s (--handshake-timeout)`
        : error instanceof ParleyError
        ? error.message
        : `${peerName} dropped during the handshake: ${describeIoError(toError(error))}`;
      this.#options.onDrop?.(message, source);
      return;
    } finally {
      handshakeLimit.cancel();
    }
    if (this.#stopped) {
      closeQuietly(channel);
    } else if (ready === undefined || this.#busy || this.#held !== undefined) {
      this.#turnAway(channel, this.#busyLine, source);
    } else if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.#busy = true;
      waiter.resolve(ready);
    } else {
      this.#held = ready;
    }
  }

  /** Writes `line` once, without waiting to be read, and closes: for what must cost next to nothing. */
  #tellAndClose(conn: Deno.Conn, line: Uint8Array): void {
    // A new connection's send buffer is empty: the write does not wait.
    const telling = conn.write(line).then(() => {}, () => {}).finally(() => closeQuietly(conn));
    this.#rejecting.add(telling);
    telling.finally(() => this.#rejecting.delete(telling));
  }

  /** Sends `line` to a client we will not serve, and closes; bounded in time and in number. */
  #turnAway(conn: Channel, line: Uint8Array, source: string, options: { drain: boolean } = { drain: true }): void {
    const done = Promise.withResolvers<void>();
    const place = this.#turningAway.admit(source, () => {
      closeQuietly(conn);
      done.resolve();
    });
    const rejection = this.#sendAndClose(conn, line, options.drain, done.promise).finally(() => place.release());
    this.#rejecting.add(rejection);
    rejection.finally(() => this.#rejecting.delete(rejection));
  }

  /**
   * Sends `line`, ends our side, and reads until the client closes (or time
   * runs out, or `cut` resolves) so that closing does not reset the
   * connection before the client has read the line. Without `drain`, closes
   * once the line is out: the connection may be in the midst of a handshake
   * whose own read is still pending.
   */
  async #sendAndClose(conn: Channel, line: Uint8Array, drain: boolean, cut: Promise<void>): Promise<void> {
    const limit = sleep(this.#options.rejectMs ?? DEFAULT_REJECT_MS);
    const timeUp = Promise.race([limit.promise, cut]).then(() => null);
    const writing = writeAll(conn, line).then(() => true, () => false);
    let reading: Promise<number | null> = Promise.resolve(null);
    try {
      if (!(await Promise.race([writing, timeUp]))) return;
      await Promise.race([conn.closeWrite().catch(() => {}), timeUp]);
      if (!drain) return;
      const scratch = new Uint8Array(4096);
      for (let drained = 0; drained < MAX_DRAIN_BYTES;) {
        reading = conn.read(scratch).catch(() => null);
        const n = await Promise.race([reading, timeUp]);
        if (n === null) break;
        drained += n;
      }
    } catch (error) {
      if (!isIoError(error)) throw error;
    } finally {
      limit.cancel();
      closeQuietly(conn);
      await Promise.all([writing, reading]);
    }
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
