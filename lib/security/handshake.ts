/**
 * Getting a new connection ready for a conversation: the TLS handshake, the
 * shared-secret handshake, and a look at the first bytes of a plain
 * connection to catch a peer that speaks TLS (or a secret we lack).
 *
 * What a handshake reads past its last line is handed on to the session, so
 * that nothing the peer sends right after it is lost.
 *
 * @module
 */

import { writeAll } from "../io/buffered_writer.ts";
import { closeQuietly } from "../io/channel.ts";
import {
  BusyError,
  ConnectionLostError,
  describeIoError,
  FileError,
  isIoError,
  ParleyError,
  RefusedError,
  WrongProtocolError,
} from "../io/errors.ts";
import { deadline, sleep } from "../io/time.ts";
import type { Channel, Reader } from "../io/types.ts";
import { formatNetAddr } from "../net/address.ts";
import {
  BUSY_PREFIX,
  DENIED_PREFIX,
  NEEDS_CODE_PREFIX,
  NO_CODE_LINE,
  OVERLOADED_PREFIX,
  PAKE_PREFIX,
  PLAIN_SERVER_REPLY,
  RATE_PREFIX,
  TLS_SERVER_REPLY,
} from "../wire/protocol.ts";
import { CheckedSource } from "../wire/source_adapters.ts";
import { AuthError, NotSecureError } from "./auth_errors.ts";
import type { Mode } from "./secure_handshake.ts";
import type { FailureThrottle } from "./failure_throttle.ts";
import { SECRET_ENV, secretEnvReadable } from "./secret.ts";
import { describeTlsError, looksLikeTls, TlsError, type TlsSide } from "./tls.ts";
import type { TlsTerminator } from "./tls_terminator.ts";

/** A connection ready for a session. */
export interface ReadyConnection {
  /** The connection (TLS or plain), for writing and closing. */
  conn: Channel;
  /** Where the session reads from: the connection, after any handshake bytes. */
  source: Reader;
  /** How the peer is named in messages: its address and port. */
  peerName: string;
  /** The peer's address alone (its port is a passing one), as it labels what it says. */
  peerHost: string;
  /** Present for a secure session (a code or a secret): what the handshake agreed. */
  secure?: {
    /** The session's mode (the server's). */
    mode: Mode;
    /** The mode the other side asked for. */
    peerMode: Mode;
    /** Two words the two people may compare. */
    check: string;
  };
}

const encoder = new TextEncoder();

/**
 * Starts TLS on an accepted connection through `terminator` and completes
 * the handshake.
 *
 * @throws {TlsError} when the TLS handshake fails.
 * @throws {WrongProtocolError} when the client does not speak TLS.
 */
export async function secureServerSide(conn: Deno.Conn, terminator: TlsTerminator): Promise<Channel> {
  const channel = await terminator.start(conn);
  const peerName = formatNetAddr(conn.remoteAddr);
  try {
    await tlsHandshake(channel, "server", (reason) => `TLS handshake with ${peerName} failed: ${reason}`);
  } catch (error) {
    closeQuietly(channel);
    throw error;
  }
  return channel;
}

/** How the server readies connections. */
export interface ServerHandshake {
  /** True when the connection was secured with TLS. */
  tls: boolean;
  /** The password (a code's bytes, or a secret file's), when the session is secure. */
  password?: Uint8Array;
  /** What the password is, as messages name it: `code` (the default) or `secret`. */
  passwordName?: "code" | "secret";
  /** The server's mode, which a secure session adopts. */
  mode: Mode;
  /** Called when a client's try at the code has been answered: it fails unless the handshake succeeds. */
  answered?: () => void;
  /** Slows down addresses that failed to authenticate. */
  throttle?: FailureThrottle;
  /** Cancels waiting (the connection is closed when time is up). */
  signal?: AbortSignal;
}

/** The secure session's module, loading or loaded. */
let secureSession: Promise<typeof import("./secure_handshake.ts")> | undefined;

/**
 * Loads the secure handshake (CPace and its hashing) once, and resolves to
 * its module. Loaded only for a secure session, so a plain one's start-up
 * pays nothing; a client starts it as it connects, a server as it listens
 * ({@linkcode preloadSecureSession}), so that no handshake waits for tens of
 * milliseconds of loading.
 */
export function loadSecureSession(): Promise<typeof import("./secure_handshake.ts")> {
  // A failed load is not kept: the next handshake tries again.
  secureSession ??= import("./secure_handshake.ts").catch((error: unknown) => {
    secureSession = undefined;
    throw error;
  });
  return secureSession;
}

/**
 * Loads all of the secure session, the record layer too, in the background:
 * a server with a code or a secret calls this as it starts to listen.
 * A failure to load shows in the handshake that needs it.
 */
export function preloadSecureSession(): void {
  loadSecureSession().then((module) => module.loadRecordLayer()).catch(() => {});
}

/**
 * Readies a (secured) connection: on a plain one, watches for a TLS client;
 * with a secret, checks the client's proof.
 *
 * @throws {AuthError} when the client does not prove the secret.
 * @throws {WrongProtocolError} when a plain server meets a TLS client.
 */
export async function readyServerSide(
  channel: Channel,
  conn: Deno.Conn,
  options: ServerHandshake,
): Promise<ReadyConnection> {
  const peerName = formatNetAddr(conn.remoteAddr);
  const peerHost = "hostname" in conn.remoteAddr ? conn.remoteAddr.hostname : peerName;
  const { password, throttle } = options;
  let source: Reader = channel;
  if (!options.tls || password === undefined) {
    source = new CheckedSource(channel, async (first) => {
      if (!options.tls && looksLikeTls(first)) {
        await writeAll(channel, encoder.encode(PLAIN_SERVER_REPLY + "\n")).catch(() => {});
        throw new WrongProtocolError(
          `${peerName} tried to start TLS, but this server does not use it (see --tls-cert)`,
        );
      }
      if (password === undefined && startsWith(first, PAKE_PREFIX)) {
        await writeAll(channel, encoder.encode(NO_CODE_LINE + "\n")).catch(() => {});
        throw new NotSecureError(`${peerName} has a code, but this server has none: told it to connect without one`);
      }
    }, looksLikeTls);
  }
  if (password === undefined) return { conn: channel, source, peerName, peerHost };

  // Guesses from an address that failed before are slowed down before the
  // answer, which tells a guesser whether it was right; a client without a
  // code learns at once that one is needed.
  const beforeAnswer = async () => {
    const delay = throttle?.delayFor(peerHost) ?? 0;
    if (delay <= 0) return;
    const wait = sleep(delay);
    options.signal?.addEventListener("abort", wait.cancel, { once: true });
    await wait.promise;
  };
  // Once answered, a try counts as failed unless it succeeds: a guesser learns from the answer and may just leave.
  const answered = () => {
    throttle?.failed(peerHost);
    options.answered?.();
  };
  const { pakeServerSide } = await loadSecureSession();
  const session = await pakeServerSide(channel, source, {
    password,
    passwordName: options.passwordName,
    mode: options.mode,
    peerName,
    beforeAnswer,
    answered,
  });
  throttle?.succeeded(peerHost);
  const { mode, peerMode, check } = session;
  return { conn: session.channel, source: session.channel, peerName, peerHost, secure: { mode, peerMode, check } };
}

/** How the client readies its connection. */
export interface ClientHandshake {
  /**
   * Upgrade to TLS, verifying the server's certificate for `hostname`,
   * trusting also `caCerts`, read from `caFile`.
   */
  tls?: { hostname: string; caCerts: string[]; caFile?: string };
  /** The password (a code's bytes, or a secret file's), for a secure session. */
  password?: Uint8Array;
  /** What the password is, as messages name it: `code` (the default) or `secret`. */
  passwordName?: "code" | "secret";
  /** Our mode, which the server's replaces in a secure session. */
  mode: Mode;
  /** How the server is named in messages. */
  peerName: string;
  /** Give up after this long (ms): the connection is closed. */
  timeoutMs: number;
  /** Stops, as Ctrl+C does: the result is then `null`. */
  signal?: AbortSignal;
}

/**
 * Readies a new connection to the server: TLS handshake, then the mutual
 * proof of the secret. On failure the connection is closed; when `signal`
 * aborts first, the result is `null`.
 *
 * @throws {TlsError} when the TLS handshake fails.
 * @throws {AuthError} when authentication fails or times out.
 * @throws {WrongProtocolError} when a plain client meets a TLS server.
 * @throws {BusyError} when the server is in another session.
 * @throws {RefusedError} when the server does not let our address in.
 */
export async function readyClientSide(tcp: Deno.TcpConn, options: ClientHandshake): Promise<ReadyConnection | null> {
  const { peerName, signal } = options;
  const conn = await startTls(tcp, options);
  const limit = deadline(options.timeoutMs, () => closeQuietly(conn));
  const interrupt = () => closeQuietly(conn);
  signal?.addEventListener("abort", interrupt, { once: true });
  try {
    if (options.tls) {
      await tlsHandshake(
        conn as Deno.TlsConn,
        "client",
        (reason) => `Cannot connect to ${peerName} with TLS: ${reason}`,
      );
    }
    // How the server's side starts says whether it will talk with us at all.
    const source = new CheckedSource(conn, (start) => {
      const refusal = serverRefusal(start, peerName, options);
      return refusal === undefined ? Promise.resolve() : Promise.reject(refusal);
    }, looksLikeTls);
    // The server's port is part of its name: it is how it is reached.
    if (options.password === undefined) return { conn, source, peerName, peerHost: peerName };
    const { pakeClientSide } = await loadSecureSession();
    const session = await pakeClientSide(
      conn,
      source,
      { password: options.password, passwordName: options.passwordName, mode: options.mode, peerName },
      // A server may turn us away at any line of the handshake (evicted for load, say).
      (line) => serverRefusal(encoder.encode(line), peerName, options),
    );
    const { mode, peerMode, check } = session;
    return {
      conn: session.channel,
      source: session.channel,
      peerName,
      peerHost: peerName,
      secure: { mode, peerMode, check },
    };
  } catch (error) {
    closeQuietly(conn);
    if (signal?.aborted) return null;
    if (limit.expired) {
      throw new AuthError(`Handshake with ${peerName} timed out (does it use the same --tls and --code settings?)`);
    }
    throw explainClientFailure(error, peerName);
  } finally {
    limit.cancel();
    signal?.removeEventListener("abort", interrupt);
  }
}

/**
 * Why the server will not talk with us, from how its side of the connection
 * starts (its first line, or the first bytes of it), or `undefined` when it
 * may be a conversation.
 */
export function serverRefusal(start: Uint8Array, peerName: string, options: ClientHandshake): ParleyError | undefined {
  // A TLS server answers a plain client with a TLS alert, or (parley) in plain words.
  if (!options.tls && (looksLikeTls(start) || startsWith(start, TLS_SERVER_REPLY))) {
    return new WrongProtocolError(`${peerName} speaks TLS: connect with --tls`);
  }
  if (options.password === undefined && startsWith(start, NEEDS_CODE_PREFIX)) {
    // A secret in the environment that we may not read is not "no secret": say why it went unseen.
    const unread = secretEnvReadable() ? "" : ` (${SECRET_ENV}, if set, is not read without --allow-env=${SECRET_ENV})`;
    return new AuthError(
      `${peerName} needs a code: connect with --code CODE (or the same secret, with --secret-file or ${SECRET_ENV})` +
        unread,
    );
  }
  if (startsWith(start, RATE_PREFIX)) {
    return new BusyError(`${peerName} takes no more connections from this address for now; try again in a few seconds`);
  }
  if (startsWith(start, OVERLOADED_PREFIX)) {
    return new BusyError(`${peerName} has too many connections being set up; try again in a moment`);
  }
  if (startsWith(start, BUSY_PREFIX)) {
    return new BusyError(`${peerName} is busy with another session; try again later`);
  }
  if (startsWith(start, DENIED_PREFIX)) {
    return new RefusedError(`${peerName} does not accept connections from this address (--allow, --deny)`);
  }
  return undefined;
}

/**
 * Turns whatever ended the client's handshake into one line naming the
 * server: a notice it sent instead of the exchange, a line too long, a
 * connection that failed. Anything else is a bug, and stays as it is.
 */
function explainClientFailure(error: unknown, peerName: string): unknown {
  if (error instanceof ParleyError) return error;
  if (isIoError(error)) {
    return new ConnectionLostError(`Handshake with ${peerName} failed: ${describeIoError(error)}`, { cause: error });
  }
  return error;
}

/**
 * Wraps `tcp` in TLS when asked to (the handshake comes later), or returns it.
 *
 * @throws {FileError} when a certificate to trust (--ca) cannot be used.
 */
async function startTls(tcp: Deno.TcpConn, options: ClientHandshake): Promise<Deno.Conn> {
  if (!options.tls) return tcp;
  const { hostname, caCerts, caFile } = options.tls;
  try {
    return await Deno.startTls(tcp, { hostname, caCerts });
  } catch (error) {
    closeQuietly(tcp);
    if (!(error instanceof Error)) throw error;
    // Nothing has been sent yet: the only input that can be wrong is a certificate given to trust.
    const reason = /invalid peer certificate: (\w+)|certificate store: (\w+)/.exec(error.message)?.slice(1).find(
      (part) => part !== undefined,
    ) ?? describeIoError(error);
    const what = caFile === undefined ? "the certificates to trust" : `--ca ${caFile}`;
    throw new FileError(`Cannot use ${what}: a certificate in it cannot be read (${reason})`, { cause: error });
  }
}

async function tlsHandshake(
  conn: { handshake(): Promise<unknown> },
  side: TlsSide,
  message: (reason: string) => string,
): Promise<void> {
  try {
    await conn.handshake();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    // Whatever went wrong, it came from the other side or the network.
    const reason = describeTlsError(error, side) ?? describeIoError(error);
    throw new TlsError(message(reason), { cause: error });
  }
}

function startsWith(bytes: Uint8Array, text: string): boolean {
  const prefix = encoder.encode(text);
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}
