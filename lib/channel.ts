/**
 * What a conversation needs from a connection: read, write, end our
 * direction, close. A `Deno.Conn` is one; so is a TLS connection relayed from
 * a plain socket, whose `close` also closes that socket.
 *
 * @module
 */

import { isIoError } from "./errors.ts";

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

/**
 * How a stream that just ended really ended. Deno reports a connection reset
 * to `read` as a plain end of stream; while our side is still open, an empty
 * write tells the two apart: it succeeds after the peer's FIN and fails after
 * a reset. Resolves to that failure, or `undefined` after a plain end.
 */
export async function resetAfterEnd(channel: Pick<Channel, "write">): Promise<Error | undefined> {
  try {
    await channel.write(new Uint8Array(0));
    return undefined;
  } catch (error) {
    if (!(error instanceof Error) || !isIoError(error)) throw error;
    return error;
  }
}
