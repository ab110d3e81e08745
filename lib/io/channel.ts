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
 * How a stream that just ended really ended. A peer that closes with our
 * bytes unread sends a FIN and then a reset (a Deno peer always does so), and
 * `read` reports only the FIN: a plain end of stream. While our side is still
 * open, an empty write tells the two apart: it succeeds after a FIN alone
 * and fails after a reset. Resolves to that failure, or `undefined` after a
 * plain end.
 *
 * Workaround for no upstream issue yet: see docs/design.md#reset-probe and the canary in tests/workarounds_test.ts.
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
