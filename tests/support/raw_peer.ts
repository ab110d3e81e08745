/**
 * Raw TCP peers for tests that play a hostile other side: a listener and
 * connections made with `node:net`, whose sockets can end in every way TCP
 * allows — a clean close, a close with data left unread, or a reset
 * (`resetAndDestroy()`, which Deno's own connections cannot do).
 *
 * Everything a raw peer opens is closed, and waited for, on disposal, so
 * that the test sanitizers see nothing left behind.
 *
 * Below them, attackers: plain `node:net` sockets connecting from a chosen
 * loopback address (127.0.0.2, …, which reach a server on 127.0.0.1), TLS
 * over such a socket (so that a TLS connection can end in a reset), and a
 * crowd of connections that stall and are reopened as the server drops
 * them. `node:net` is the only socket API in Deno that can bind a source
 * address or send a reset.
 *
 * @module
 */

import type { Reader } from "../../lib/io/types.ts";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { tcpBacklog } from "./net.ts";
import { WAIT_MS } from "./process.ts";
import { waitFor } from "./wait.ts";

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
export class RawSocket implements Reader, AsyncDisposable {
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

  /** Reads what arrived, as a {@linkcode Reader}: `null` once the other side ended. */
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

// Attackers.

/** A TCP connection made with `node:net`. */
export type RudeSocket = net.Socket;

/** Options for {@linkcode rudeConnect}. */
export interface RudeConnectOptions {
  /** The local (source) address to connect from, such as `127.0.0.2`. */
  from?: string;
  /** Bytes to send at once after connecting. */
  send?: Uint8Array | string;
}

/** Connects to `port` on 127.0.0.1; resolves once connected (and `send` is written). */
export function rudeConnect(port: number, options: RudeConnectOptions = {}): Promise<RudeSocket> {
  return within(
    new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1", localAddress: options.from });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        // Errors after this are the peer's doing: they only end the socket.
        socket.on("error", () => {});
        if (options.send === undefined) resolve(socket);
        else socket.write(options.send, () => resolve(socket));
      });
    }),
    WAIT_MS,
    `connecting to 127.0.0.1:${port}`,
  );
}

/** A TLS connection over a socket that can still be reset under it. */
export interface RudeTls {
  /** The TLS connection, for writing. */
  tls: tls.TLSSocket;
  /** The TCP connection under it: reset it to cut the TLS connection with a reset. */
  raw: RudeSocket;
}

/** Options for {@linkcode rudeTlsConnect}. */
export interface RudeTlsOptions extends RudeConnectOptions {
  /**
   * Send the ClientHello's first `splitFirst` bytes on their own, and the
   * rest once the server has read them, as tools that dodge packet
   * inspection do.
   */
  splitFirst?: number;
}

/** Connects to `port` and completes a TLS handshake, trusting the PEM certificate `ca`. */
export async function rudeTlsConnect(port: number, ca: string, options: RudeTlsOptions = {}): Promise<RudeTls> {
  const raw = await rudeConnect(port, { from: options.from });
  const secure = tls.connect({
    socket: options.splitFirst ? splitFirstWrite(raw, options.splitFirst) : raw,
    ca,
    servername: "localhost",
  });
  await within(
    new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    }),
    WAIT_MS,
    "the TLS handshake",
  );
  secure.on("error", () => {});
  if (options.send !== undefined) await new Promise<void>((resolve) => secure.write(options.send!, () => resolve()));
  return { tls: secure, raw };
}

/**
 * A stream over `raw` whose first write goes out as its first `bytes` bytes,
 * then, once the program at the other end has read those (they were all it
 * had to decide on), the rest.
 */
function splitFirstWrite(raw: RudeSocket, bytes: number): Duplex {
  let first = true;
  const readByPeer = async () => {
    const ports = { localPort: raw.localPort ?? 0, remotePort: raw.remotePort ?? 0 };
    return (await tcpBacklog(ports)).toThem === 0;
  };
  const stream = new Duplex({
    write(chunk: Uint8Array, _encoding, done) {
      if (!first) return raw.write(chunk, () => done());
      first = false;
      raw.write(chunk.subarray(0, bytes), () => {
        waitFor(readByPeer, { what: `the peer to read the first ${bytes} bytes of the ClientHello on their own` })
          .then(() => raw.write(chunk.subarray(bytes), () => done()), (error: Error) => done(error));
      });
    },
    read() {},
  });
  raw.on("data", (data: Uint8Array) => stream.push(data));
  raw.on("end", () => stream.push(null));
  raw.on("close", () => stream.destroy());
  return stream;
}

/** Closes `socket` with a reset (RST), as a crashing peer or `SO_LINGER {1, 0}` does; resolves once closed. */
export function resetSocket(socket: RudeSocket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.resetAndDestroy();
  return closed;
}

/** Closes `socket` without a reset; resolves once closed. */
export function closeSocket(socket: RudeSocket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.destroy();
  return closed;
}

/** Everything `socket` receives, as it arrives. */
export function collect(socket: RudeSocket): { readonly text: string; readonly closed: Promise<void> } {
  let text = "";
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    get text() {
      return text;
    },
    closed,
  };
}

/** The first bytes of a TLS 1.x ClientHello record that never gets finished. */
export const PARTIAL_CLIENT_HELLO: Uint8Array = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x02, 0x00]);

/** Options for {@linkcode StallingCrowd}. */
export interface StallingCrowdOptions {
  /** Source addresses to connect from. */
  sources: readonly string[];
  /** Connections kept open from each source. */
  perSource: number;
  /** What each connection sends before it stalls (nothing when undefined). */
  send?: Uint8Array;
  /** Most connections opened in all, reopenings included: a bound on the loop. */
  maxOpened: number;
}

/**
 * Connections that stall from several source addresses, reopened as the
 * server drops them, until stopped: an attacker holding handshake places.
 */
export class StallingCrowd implements AsyncDisposable {
  #options: StallingCrowdOptions;
  #open = new Set<RudeSocket>();
  #stopped = false;
  #opened = 0;
  #pending = new Set<Promise<void>>();

  /** Starts connecting. */
  constructor(port: number, options: StallingCrowdOptions) {
    this.#options = options;
    for (const from of options.sources) {
      for (let i = 0; i < options.perSource; i++) this.#keep(port, from);
    }
  }

  /** Connections opened so far, reopenings included. */
  get opened(): number {
    return this.#opened;
  }

  /** Connections open now. */
  get open(): number {
    return this.#open.size;
  }

  /** Opens one connection from `from`, and another each time it is closed, until stopped or at the bound. */
  #keep(port: number, from: string): void {
    if (this.#stopped || this.#opened >= this.#options.maxOpened) return;
    this.#opened++;
    const attempt = rudeConnect(port, { from, send: this.#options.send }).then(
      (socket) => {
        if (this.#stopped) {
          socket.destroy();
          return;
        }
        this.#open.add(socket);
        socket.on("data", () => {});
        socket.once("close", () => {
          this.#open.delete(socket);
          this.#keep(port, from);
        });
      },
      // Refused or reset while connecting: try again (the bound still holds).
      () => this.#keep(port, from),
    );
    this.#pending.add(attempt);
    attempt.finally(() => this.#pending.delete(attempt));
  }

  /** Stops reopening and closes every connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopped = true;
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    await Promise.all([...this.#open].map(closeSocket));
  }
}
