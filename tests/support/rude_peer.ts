/**
 * Peers that behave as attackers and broken clients do: connecting from a
 * chosen loopback address, stalling, and closing with a TCP reset. Built on
 * `node:net`, the only socket API in Deno that can bind a source address and
 * send a reset.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";

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
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: options.from });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      // Errors after this are the peer's doing: they only end the socket.
      socket.on("error", () => {});
      if (options.send === undefined) resolve(socket);
      else socket.write(options.send, () => resolve(socket));
    });
  });
}

/** A TLS connection over a socket that can still be reset under it. */
export interface RudeTls {
  /** The TLS connection, for writing. */
  tls: tls.TLSSocket;
  /** The TCP connection under it: reset it to cut the TLS connection with a reset. */
  raw: RudeSocket;
}

/** Connects to `port` and completes a TLS handshake, trusting the PEM certificate `ca`. */
export async function rudeTlsConnect(port: number, ca: string, options: RudeConnectOptions = {}): Promise<RudeTls> {
  const raw = await rudeConnect(port, { from: options.from });
  const secure = tls.connect({ socket: raw, ca, servername: "localhost" });
  await new Promise<void>((resolve, reject) => {
    secure.once("secureConnect", () => resolve());
    secure.once("error", reject);
  });
  secure.on("error", () => {});
  if (options.send !== undefined) await new Promise<void>((resolve) => secure.write(options.send!, () => resolve()));
  return { tls: secure, raw };
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
