/**
 * TLS for connections accepted on a plain TCP listener.
 *
 * Closing a connection from `Deno.listenTls` before its handshake completes
 * does not close its socket (Deno 2.9): a client that never finishes the
 * handshake would keep it open for as long as it likes. So the server
 * accepts plain TCP connections, which it can always close, and terminates
 * TLS through a private TLS listener on loopback, relaying bytes between
 * the two. Closing the outer connection ends everything behind it, and
 * closing the TLS channel closes the outer connection: at once before the
 * handshake, and after a secure session once what the server sent, down to
 * its TLS close, has been passed on (for {@linkcode DRAIN_MS} at most).
 *
 * The relay also sees the first bytes: a client that does not start a TLS
 * handshake gets a plain-text line saying so, at once.
 *
 * Only the relay's own connections are taken by the private listener, so no
 * other local program can use it to get around the server's checks.
 *
 * Workaround for no upstream issue yet: see docs/design.md#tls-relay and the canary in tests/workarounds_test.ts.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { closeQuietly, resetAfterEnd } from "../io/channel.ts";
import { ConnectionLostError, describeIoError, WrongProtocolError } from "../io/errors.ts";
import { sleep } from "../io/time.ts";
import type { Channel } from "../io/types.ts";
import { formatNetAddr } from "../net/address.ts";
import { TLS_SERVER_REPLY } from "../wire/protocol.ts";
import { type KeyPair, looksLikeTls } from "./tls.ts";

/** How long a client may wait before its first byte; TLS clients send theirs at once. */
const FIRST_BYTES_MS = 2000;
/**
 * The relay's buffer each way: one TLS record at most (16 KiB of data and
 * its overhead), so that a connection costs little while it is only being
 * set up, as thousands may be under attack.
 */
const BUFFER_BYTES = 17 * 1024;
/** Enough to tell a TLS record from text: the relay passes on the rest. */
const FIRST_BYTES = 1024;
/** Bytes that tell a TLS record from text (see `looksLikeTls`). */
const TLS_SIGNATURE_BYTES = 2;
/** How long a closed TLS channel's last bytes may take to reach the client. */
const DRAIN_MS = 1000;

/** The server side of a relayed TLS connection: closing it closes the client's socket too. */
export interface TlsChannel extends Channel {
  /** Runs the TLS handshake to completion. */
  handshake(): Promise<unknown>;
}

/** Turns plain TCP connections into TLS connections, through a relay. */
export class TlsTerminator {
  #listener: Deno.TlsListener;
  #relays = new Set<Promise<void>>();
  /** Rendezvous happen one at a time, so the private listener's next connection is ours. */
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens the private TLS listener with `keyPair`.
   *
   * @throws the error of `Deno.listenTls` for a bad certificate or key.
   */
  constructor(keyPair: KeyPair) {
    this.#listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, transport: "tcp", ...keyPair });
  }

  /**
   * Starts TLS on `outer`, a connection accepted from a client. Resolves to
   * the server side of the TLS connection; its handshake is still to come.
   * Closing `outer`, or the channel, ends both.
   *
   * @throws {WrongProtocolError} when the client does not start TLS (it is told so).
   * @throws {ConnectionLostError} when the client is gone before its first byte.
   */
  async start(outer: Deno.Conn): Promise<TlsChannel> {
    const peerName = formatNetAddr(outer.remoteAddr);
    const first = await this.#firstBytes(outer, peerName);
    if (first === null || !looksLikeTls(first)) {
      await writeAll(outer, new TextEncoder().encode(TLS_SERVER_REPLY + "\n")).catch(() => {});
      throw new WrongProtocolError(`${peerName} did not start TLS (a plain client?): told it to use --tls`);
    }
    const { inner, tls } = await this.#rendezvous();
    const closing = Promise.withResolvers<{ drain: boolean }>();
    // Why the client's side failed, if it did: the TLS connection only sees its end.
    const client: { failure?: Error } = {};
    const relay = this.#relay(outer, inner, first, closing.promise, client);
    this.#relays.add(relay);
    relay.finally(() => {
      this.#relays.delete(relay);
      // Without its client, the TLS connection is of no use: close it too.
      closeQuietly(tls);
    });
    let secured = false;
    /** Reports a failure of the client's connection as that, not as what it did to the TLS connection. */
    const blame = (error: unknown): never => {
      throw client.failure ?? error;
    };
    return {
      read: (p) => tls.read(p).catch(blame),
      write: (p) => tls.write(p).catch(blame),
      closeWrite: () => tls.closeWrite().catch(blame),
      handshake: async () => {
        const info = await tls.handshake().catch(blame);
        secured = true;
        return info;
      },
      close: () => {
        closeQuietly(tls);
        // Before the handshake, closing tls may leave its socket open, so
        // nothing would end the relay; and nothing sent needs passing on.
        closing.resolve({ drain: secured });
      },
    };
  }

  /** Closes the private listener and waits for every relay to end. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#queue;
    await Promise.all(this.#relays);
  }

  /**
   * Connects to the private listener and accepts that very connection. Any
   * other connection found there comes from another program: it is closed.
   */
  #rendezvous(): Promise<{ inner: Deno.TcpConn; tls: Deno.TlsConn }> {
    const meeting = this.#queue.then(async () => {
      const inner = await Deno.connect({ hostname: "127.0.0.1", port: this.#listener.addr.port });
      try {
        for (;;) {
          const tls = await this.#listener.accept();
          if (tls.remoteAddr.port === inner.localAddr.port) return { inner, tls };
          tls.close();
        }
      } catch (error) {
        inner.close();
        throw error;
      }
    });
    this.#queue = meeting.catch(() => {});
    return meeting;
  }

  /**
   * The first bytes from `outer` — at least the two that tell a TLS record
   * from text, however the client splits them — or what came, or `null`, if
   * no more come in time.
   *
   * @throws {ConnectionLostError} when the client leaves, or resets, before a byte.
   */
  async #firstBytes(outer: Deno.Conn, peerName: string): Promise<Uint8Array | null> {
    const buffer = new Uint8Array(FIRST_BYTES);
    const wait = sleep(FIRST_BYTES_MS);
    const timeUp = wait.promise.then(() => undefined);
    let length = 0;
    try {
      while (length < TLS_SIGNATURE_BYTES) {
        const reading = outer.read(buffer.subarray(length)).catch((error: unknown) =>
          error instanceof Error ? error : null
        );
        // Silence: not a TLS client. The pending read ends when outer is closed.
        const n = await Promise.race([reading, timeUp]);
        if (n === undefined) return length > 0 ? buffer.slice(0, length) : null;
        if (typeof n === "number") {
          length += n;
          continue;
        }
        if (length > 0) return buffer.slice(0, length);
        // Gone before a byte: an end, or a reset that Deno reports as one.
        const failure = n ?? await resetAfterEnd(outer);
        throw new ConnectionLostError(
          failure instanceof Error
            ? `${peerName} dropped before the TLS handshake: ${describeIoError(failure)}`
            : `${peerName} closed the connection before the TLS handshake`,
        );
      }
      return buffer.slice(0, length);
    } finally {
      wait.cancel();
    }
  }

  /**
   * Copies both ways until both directions end, either fails, or `closing`
   * says the server is done; then closes both. A failure of the client's
   * connection — an error, or an end that turns out to be a reset — is kept
   * in `client.failure`.
   */
  async #relay(
    outer: Deno.Conn,
    inner: Deno.Conn,
    first: Uint8Array,
    closing: Promise<{ drain: boolean }>,
    client: { failure?: Error },
  ): Promise<void> {
    const onClient = <T>(operation: Promise<T>): Promise<T> =>
      operation.catch((error) => {
        if (error instanceof Error) client.failure ??= error;
        throw error;
      });
    const copy = async (from: Deno.Conn, to: Deno.Conn, initial?: Uint8Array) => {
      const fromClient = from === outer;
      const read = (p: Uint8Array) => fromClient ? onClient(from.read(p)) : from.read(p);
      const write = (p: Uint8Array) => fromClient ? writeAll(to, p) : onClient(writeAll(to, p));
      if (initial) await write(initial);
      const buffer = new Uint8Array(BUFFER_BYTES);
      for (let n = await read(buffer); n !== null; n = await read(buffer)) {
        await write(buffer.subarray(0, n));
      }
      // A reset after the client's FIN reads as the end of the stream: a reset is a failure of the client's.
      const reset = fromClient ? await resetAfterEnd(outer) : undefined;
      if (reset !== undefined) {
        client.failure ??= reset;
        throw reset;
      }
      await to.closeWrite();
    };
    const upstream = copy(outer, inner, first);
    const downstream = copy(inner, outer);
    const drained = closing.then(async ({ drain }) => {
      if (!drain) return;
      const wait = sleep(DRAIN_MS);
      await Promise.race([downstream, wait.promise]).finally(() => wait.cancel());
    });
    // A half-close passes through; a failure either way ends both.
    await Promise.race([Promise.all([upstream, downstream]), drained]).catch(() => {});
    closeQuietly(outer);
    closeQuietly(inner);
    await Promise.allSettled([upstream, downstream]);
  }
}
