/**
 * The byte-stream interfaces every layer shares, after the `Reader`,
 * `Writer` and `Closer` of Deno's standard library: a `Deno.Conn`,
 * `Deno.stdin` and `Deno.stdout` satisfy them as they are, and so do
 * parley's adapters (a relayed TLS connection, a source that replays a
 * handshake's leftover bytes, the terminal's typed lines).
 *
 * @module
 */

/** Reads bytes into a buffer. */
export interface Reader {
  /** Reads up to `p.length` bytes into `p`; resolves to `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Writes bytes; may take fewer than it was given (see `writeAll`). */
export interface Writer {
  /** Writes some prefix of `p` and resolves to how many bytes it took. */
  write(p: Uint8Array): Promise<number>;
}

/** Releases a resource; a pending read or write then fails. */
export interface Closer {
  /** Closes the resource. */
  close(): void;
}

/** Says whether a standard stream is a terminal, as `Deno.stdin` does. */
export interface TerminalAware {
  /** True when the stream is a terminal (TTY). */
  isTerminal(): boolean;
}

/**
 * A two-way byte stream, as a conversation needs it: read, write, end our
 * direction, close. A `Deno.Conn` is one; so is a TLS connection relayed
 * from a plain socket, whose `close` also closes that socket.
 */
export interface Channel extends Reader, Writer, Closer {
  /** Ends our sending direction; reading goes on. */
  closeWrite(): Promise<void>;
}

/**
 * A channel whose protocol tells how each side's direction ends (the
 * secure session): leaving, or only finishing sending. Plain TCP cannot.
 */
export interface EndTelling extends Channel {
  /** Says goodbye and ends our sending direction: the peer learns that we left. */
  leave(): Promise<void>;
  /** How the peer's direction ended, once `read` has returned `null`. */
  readonly peerEnd: "left" | "finished" | undefined;
  /**
   * Resolves once the peer has gone: `undefined` when it said it left, or
   * the error that ended the connection. Never rejects.
   */
  readonly peerGone: Promise<Error | undefined>;
  /**
   * After `leave`: waits for the peer's goodbye while it keeps confirming
   * what we sent, at least `quietMs` and at most `maxMs`.
   */
  settle(quietMs: number, maxMs: number): Promise<void>;
}

/** True when `channel` tells how its ends came (see {@linkcode EndTelling}). */
export function tellsEnds(channel: Channel): channel is EndTelling {
  return "leave" in channel && "peerGone" in channel;
}
