/**
 * Adapts a `ReadableStream` (such as `Deno.stdin.readable`) to a
 * {@linkcode Reader} that can be cancelled.
 *
 * A pending `Deno.stdin.read()` cannot be called off and keeps the process
 * alive; a stream reader can be cancelled, which ends its pending read.
 *
 * @module
 */

import type { Reader } from "../../lib/io/types.ts";

/** Reads a byte stream chunk by chunk into the caller's buffer. */
export class StreamSource implements Reader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #cancelled = false;

  /** Locks `stream` and reads from it. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Copies up to `p.length` bytes into `p`; `null` at the end or once cancelled. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunk.length === 0) {
      if (this.#cancelled) return null;
      const { done, value } = await this.#reader.read();
      if (done) return null;
      this.#chunk = value;
    }
    const n = Math.min(p.length, this.#chunk.length);
    p.set(this.#chunk.subarray(0, n));
    this.#chunk = this.#chunk.subarray(n);
    return n;
  }

  /** Stops reading: a pending read resolves to `null`, and so do later ones. */
  async cancel(): Promise<void> {
    if (this.#cancelled) return;
    this.#cancelled = true;
    await this.#reader.cancel();
  }
}
