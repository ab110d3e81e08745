/**
 * Accepting clients one session at a time.
 *
 * The server asks for its next client with {@linkcode Acceptor.next}. While a
 * session runs, every other connection gets one line beginning with `busy` and
 * is closed; the running session never sees it.
 *
 * @module
 */

import { writeAll } from "./buffered_writer.ts";
import { isIoError } from "./errors.ts";
import { type Sleep, sleep } from "./sleep.ts";

/** Options for {@linkcode Acceptor}. */
export interface AcceptorOptions {
  /** The line sent to a client turned away, without `\n`; starts with `busy`. */
  busyLine: string;
  /** Longest time a turned-away connection is kept open (ms). */
  rejectMs?: number;
  /** Most turned-away connections handled at once; more are closed at once. */
  maxRejecting?: number;
}

const DEFAULT_REJECT_MS = 500;
const DEFAULT_MAX_REJECTING = 256;
/** Pause after a failed accept (for example out of file descriptors). */
const ACCEPT_RETRY_MS = 50;
/** Bytes read and dropped from a turned-away client at most. */
const MAX_DRAIN_BYTES = 64 * 1024;

/** Hands out accepted connections one at a time and turns the rest away. */
export class Acceptor {
  #listeners: Deno.TcpListener[];
  #busyLine: Uint8Array;
  #rejectMs: number;
  #maxRejecting: number;
  #waiter: PromiseWithResolvers<Deno.TcpConn | null> | undefined;
  #held: Deno.TcpConn | undefined;
  #busy = false;
  #stopped = false;
  #rejecting = new Set<Promise<void>>();
  #retry: Sleep | undefined;
  #loops: Promise<void>[];

  /** Starts accepting on every listener. */
  constructor(listeners: Deno.TcpListener[], options: AcceptorOptions) {
    this.#listeners = listeners;
    this.#busyLine = new TextEncoder().encode(options.busyLine + "\n");
    this.#rejectMs = options.rejectMs ?? DEFAULT_REJECT_MS;
    this.#maxRejecting = options.maxRejecting ?? DEFAULT_MAX_REJECTING;
    this.#loops = listeners.map((listener) => this.#acceptLoop(listener));
  }

  /** Connections being turned away right now. */
  get rejecting(): number {
    return this.#rejecting.size;
  }

  /**
   * Waits for the next client and marks the acceptor busy until
   * {@linkcode release}. Resolves to `null` once stopped.
   */
  next(): Promise<Deno.TcpConn | null> {
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

  /** The session is over: the next connection may start a new one. */
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
    this.#held?.close();
    this.#held = undefined;
  }

  /** Stops, then waits until every turned-away connection is closed. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.#loops);
    await Promise.all(this.#rejecting);
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    while (!this.#stopped) {
      let conn: Deno.TcpConn;
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
        conn.close();
        return;
      }
      conn.setNoDelay(true);
      this.#dispatch(conn);
    }
  }

  #dispatch(conn: Deno.TcpConn): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#busy = true;
      waiter.resolve(conn);
    } else if (!this.#busy && this.#held === undefined) {
      this.#held = conn;
    } else {
      const rejection = this.#reject(conn);
      this.#rejecting.add(rejection);
      rejection.finally(() => this.#rejecting.delete(rejection));
    }
  }

  /**
   * Sends the busy line, ends our side, and reads until the client closes (or
   * time runs out) so that closing does not reset the connection before the
   * client has read the line.
   */
  async #reject(conn: Deno.TcpConn): Promise<void> {
    if (this.#rejecting.size >= this.#maxRejecting) {
      conn.close();
      return;
    }
    const deadline = sleep(this.#rejectMs);
    const timeUp = deadline.promise.then(() => null);
    const writing = writeAll(conn, this.#busyLine).then(() => true, () => false);
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
      conn.close();
      await Promise.all([writing, reading]);
    }
  }
}
