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
 * @module
 */

import { formatNetAddr } from "./address.ts";
import { writeAll } from "./buffered_writer.ts";
import { type Channel, closeQuietly } from "./channel.ts";
import { deadline } from "./deadline.ts";
import { describeOsError, isIoError, ParleyError } from "./errors.ts";
import type { Listener } from "./listen.ts";
import { type Sleep, sleep } from "./sleep.ts";

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
  /** Most connections being readied at once; more are closed at once. */
  maxReadying?: number;
  /** Told, in one line naming the peer, why a connection was dropped before its session. */
  onDrop?: (message: string) => void;
  /** Longest time a turned-away connection is kept open (ms). */
  rejectMs?: number;
  /** Most turned-away connections handled at once; more are closed at once. */
  maxRejecting?: number;
}

/** How a parley server's line to a client it turns away begins, while busy. */
export const BUSY_PREFIX = "busy: the parley server";
/** How a parley server's line to a client it refuses begins. */
export const DENIED_PREFIX = "denied: this parley server";

const DEFAULT_REJECT_MS = 1000;
const DEFAULT_MAX_REJECTING = 256;
const DEFAULT_MAX_READYING = 32;
/** Pause after a failed accept (for example out of file descriptors). */
const ACCEPT_RETRY_MS = 50;
/** Bytes read and dropped from a turned-away client at most. */
const MAX_DRAIN_BYTES = 64 * 1024;

/** Hands out ready connections one at a time and turns the rest away. */
export class Acceptor<T extends { conn: Channel }> {
  #listeners: Listener[];
  #options: AcceptorOptions<T>;
  #busyLine: Uint8Array;
  #refusedLine: Uint8Array | undefined;
  #waiter: PromiseWithResolvers<T | null> | undefined;
  #held: T | undefined;
  #busy = false;
  #stopped = false;
  #readying = new Map<Promise<void>, AbortController>();
  #rejecting = new Set<Promise<void>>();
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
        // A client that gave up, or no descriptors left: try again shortly.
        this.#retry = sleep(ACCEPT_RETRY_MS);
        await this.#retry.promise;
        continue;
      }
      if (this.#stopped) {
        closeQuietly(conn);
        return;
      }
      if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    const refusal = this.#options.screen?.(conn);
    if (refusal !== undefined) {
      if (this.#refusedLine === undefined) closeQuietly(conn);
      else this.#turnAway(conn, this.#refusedLine);
      this.#options.onDrop?.(`${formatNetAddr(conn.remoteAddr)} refused: ${refusal}`);
    } else if (this.#readying.size >= (this.#options.maxReadying ?? DEFAULT_MAX_READYING)) {
      closeQuietly(conn);
      this.#options.onDrop?.(`${formatNetAddr(conn.remoteAddr)} dropped: too many connections in handshake`);
    } else {
      const controller = new AbortController();
      const readying = this.#prepare(conn, controller);
      this.#readying.set(readying, controller);
      readying.finally(() => this.#readying.delete(readying));
    }
  }

  /** Secures and readies `conn` within the time limit, then hands it out or turns it away. */
  async #prepare(conn: Deno.Conn, controller: AbortController): Promise<void> {
    const peerName = formatNetAddr(conn.remoteAddr);
    const limit = this.#options.readyMs;
    // The handshake's reads and writes keep the process running meanwhile.
    const handshakeLimit = deadline(limit, () => controller.abort());
    // Closing the connection is what makes a pending handshake give up.
    controller.signal.addEventListener("abort", () => closeQuietly(conn), { once: true });
    let channel: Channel = conn;
    let ready: T | undefined;
    try {
      if (this.#options.secure) channel = await this.#options.secure(conn, controller.signal);
      // A client that comes while a session runs only needs to hear "busy".
      if (!this.#busy && this.#held === undefined) ready = await this.#options.ready(channel, conn, controller.signal);
    } catch (error) {
      closeQuietly(channel);
      closeQuietly(conn);
      if (!(error instanceof Error)) throw error;
      if (this.#stopped) return;
      // Whatever a remote peer does must not bring the server down: drop it and say why.
      const message = handshakeLimit.expired
        ? `${peerName} dropped: no handshake within ${limit / 1000} s (--handshake-timeout)`
        : error instanceof ParleyError
        ? error.message
        : `${peerName} dropped during the handshake: ${describeOsError(error) ?? error.message}`;
      this.#options.onDrop?.(message);
      return;
    } finally {
      handshakeLimit.cancel();
    }
    if (this.#stopped) {
      closeQuietly(channel);
    } else if (ready === undefined || this.#busy || this.#held !== undefined) {
      this.#turnAway(channel, this.#busyLine);
    } else if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.#busy = true;
      waiter.resolve(ready);
    } else {
      this.#held = ready;
    }
  }

  #turnAway(conn: Channel, line: Uint8Array): void {
    if (this.#rejecting.size >= (this.#options.maxRejecting ?? DEFAULT_MAX_REJECTING)) {
      closeQuietly(conn);
      return;
    }
    const rejection = this.#sendAndClose(conn, line);
    this.#rejecting.add(rejection);
    rejection.finally(() => this.#rejecting.delete(rejection));
  }

  /**
   * Sends `line`, ends our side, and reads until the client closes (or time
   * runs out) so that closing does not reset the connection before the client
   * has read the line.
   */
  async #sendAndClose(conn: Channel, line: Uint8Array): Promise<void> {
    const deadline = sleep(this.#options.rejectMs ?? DEFAULT_REJECT_MS);
    const timeUp = deadline.promise.then(() => null);
    const writing = writeAll(conn, line).then(() => true, () => false);
    let reading: Promise<number | null> = Promise.resolve(null);
    try {
      if (!(await Promise.race([writing, timeUp]))) return;
      await conn.closeWrite();
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
      deadline.cancel();
      closeQuietly(conn);
      await Promise.all([writing, reading]);
    }
  }
}
