/**
 * Raw TCP peers for tests that play a hostile other side: a listener and
 * connections made with `node:net`, whose sockets can end in every way TCP
 * allows — a clean close, a close with data left unread, or a reset
 * (`resetAndDestroy()`, which Deno's own connections cannot do).
 *
 * Everything a raw peer opens is closed, and waited for, on disposal, so
 * that the test sanitizers see nothing left behind.
 *
 * @module
 */

import net from "node:net";
import type { ByteSource } from "../../lib/line_reader.ts";
import { WAIT_MS } from "./process.ts";

/** Resolves after `ms`; always awaited to its end, so that no timer is left behind. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise`, or throws after `timeoutMs` naming `what`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** One raw TCP connection: what it received, and ways to send and to end it. */
export class RawSocket implements ByteSource, AsyncDisposable {
  /** The `node:net` socket. */
  readonly socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #received = 0;
  #ended = false;
  #error: Error | undefined;
  #changed = Promise.withResolvers<void>();
  #closed: Promise<void>;

  constructor(socket: net.Socket) {
    this.socket = socket;
    const closed = Promise.withResolvers<void>();
    this.#closed = closed.promise;
    socket.on("data", (data: Uint8Array) => {
      this.#chunks.push(new Uint8Array(data));
      this.#received += data.length;
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
      closed.resolve();
    });
  }

  /** How many bytes have arrived so far (read or not). */
  get received(): number {
    return this.#received;
  }

  /** The local port, which the other side names this connection by. */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /** Reads what arrived, as a {@linkcode ByteSource}: `null` once the other side ended. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await this.#changed.promise;
    }
    const chunk = this.#chunks[0];
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    return n;
  }

  /** Sends `bytes`; resolves to their length once the socket took them, rejects if it could not. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.socket.destroyed) return Promise.reject(new Error("the raw socket is closed"));
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error?: Error | null) => error ? reject(error) : resolve(bytes.length));
    });
  }

  /** Waits until at least `count` bytes have arrived, or the connection ends. */
  async waitForBytes(count: number, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#received < count && !this.#ended && this.#error === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`raw socket: ${this.#received} of ${count} bytes after ${timeoutMs} ms`);
      await within(this.#changed.promise, left, "raw socket").catch(() => {});
    }
  }

  /** Ends our direction (FIN); the other side's end then closes the socket. */
  end(): void {
    this.socket.end();
  }

  /** Closes at once; with data left unread, the kernel sends a reset. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Closes with a TCP reset. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  /** Resolves once the socket is closed. */
  closed(): Promise<void> {
    return this.#closed;
  }

  /** Closes the socket if it is open and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    await this.#closed;
  }

  #wake(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers();
  }
}

/** A `node:net` listener on loopback that hands out {@linkcode RawSocket}s. */
export class RawListener implements AsyncDisposable {
  readonly #server: net.Server;
  readonly #accepted: RawSocket[] = [];
  #next = 0;
  #changed = Promise.withResolvers<void>();

  private constructor(server: net.Server) {
    this.#server = server;
    server.on("connection", (socket: net.Socket) => {
      this.#accepted.push(new RawSocket(socket));
      this.#changed.resolve();
      this.#changed = Promise.withResolvers();
    });
  }

  /** Listens on `host`, on a free port. */
  static async listen(host = "127.0.0.1"): Promise<RawListener> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => resolve());
    });
    return new RawListener(server);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** The next connection, waiting up to `timeoutMs` for it. */
  async accept(timeoutMs = WAIT_MS): Promise<RawSocket> {
    const deadline = Date.now() + timeoutMs;
    while (this.#next >= this.#accepted.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no connection within ${timeoutMs} ms`);
      await within(this.#changed.promise, left, "raw listener").catch(() => {});
    }
    return this.#accepted[this.#next++];
  }

  /** Closes every connection and the listener, and waits for them. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#accepted) await socket[Symbol.asyncDispose]();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Connects a raw socket to `host:port`. */
export async function rawConnect(port: number, host = "127.0.0.1"): Promise<RawSocket> {
  const socket = net.connect({ port, host });
  const raw = new RawSocket(socket);
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("error", reject);
      }),
      WAIT_MS,
      `connecting to ${host}:${port}`,
    );
  } catch (error) {
    await raw[Symbol.asyncDispose]();
    throw error;
  }
  return raw;
}
