/**
 * Closing a {@linkcode Channel}, and telling how its stream ended.
 *
 * @module
 */

import { isIoError } from "./errors.ts";
import type { Channel } from "./types.ts";

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
