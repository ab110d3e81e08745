/**
 * Reading straight from `Deno.stdin` (or any reader that can be closed) into
 * the caller's buffer, with a way to call off a read that is waiting.
 *
 * A pending `Deno.stdin.read()` keeps the process alive; closing stdin ends
 * it (Deno reports `Interrupted`). Reading directly, rather than through
 * `Deno.stdin.readable`, spares a copy and a stream per chunk.
 *
 * @module
 */

import type { Closer, Reader } from "./types.ts";

/** A {@linkcode Reader} over a reader that {@linkcode cancel} closes. */
export class CloseableSource implements Reader {
  #reader: Reader & Closer;
  #cancelled = false;

  /** Reads from `reader` until cancelled. */
  constructor(reader: Reader & Closer) {
    this.#reader = reader;
  }

  /** Reads into `p`; `null` at the end, or once cancelled. */
  async read(p: Uint8Array): Promise<number | null> {
    if (this.#cancelled) return null;
    try {
      return await this.#reader.read(p);
    } catch (error) {
      // Closing the reader is how a pending read is called off.
      if (this.#cancelled && (error instanceof Deno.errors.Interrupted || error instanceof Deno.errors.BadResource)) {
        return null;
      }
      throw error;
    }
  }

  /** Stops reading: closes the reader, which ends a pending read. */
  cancel(): Promise<void> {
    if (!this.#cancelled) {
      this.#cancelled = true;
      try {
        this.#reader.close();
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    }
    return Promise.resolve();
  }
}
