/**
 * What a conversation needs from a connection: read, write, end our
 * direction, close. A `Deno.Conn` is one; so is a TLS connection relayed from
 * a plain socket, whose `close` also closes that socket.
 *
 * @module
 */

/** A two-way byte stream. */
export interface Channel {
  /** Reads up to `p.length` bytes into `p`; resolves to `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some prefix of `p` and resolves to how many bytes it took. */
  write(p: Uint8Array): Promise<number>;
  /** Ends our sending direction; reading goes on. */
  closeWrite(): Promise<void>;
  /** Closes both directions and releases the connection. */
  close(): void;
}

/** Closes `channel`, ignoring that it may be closed already. */
export function closeQuietly(channel: Channel): void {
  try {
    channel.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
