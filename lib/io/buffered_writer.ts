/**
 * Whole writes and coalesced output.
 *
 * `write` on a `Deno.Conn` or on stdout may take fewer bytes than it was
 * given; {@linkcode writeAll} loops until every byte is out. The
 * {@linkcode BufferedWriter} gathers many small writes into few system calls.
 *
 * @module
 */

import type { Writer } from "./types.ts";

/** Writes every byte of `bytes` to `sink`, however many calls that takes. */
export async function writeAll(sink: Writer, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await sink.write(bytes.subarray(offset));
  }
}

/** Default buffer size: large enough that bulk output is a few calls. */
const DEFAULT_SIZE = 64 * 1024;

/**
 * Buffers writes to a {@linkcode Writer}. Bytes go out in order when the
 * buffer is full or on {@linkcode flush}. One writer at a time: await each
 * call before the next. After a failed write the sink is considered broken.
 */
export class BufferedWriter {
  #sink: Writer;
  #buf: Uint8Array;
  #used = 0;

  /** Creates a writer with a buffer of `size` bytes in front of `sink`. */
  constructor(sink: Writer, size: number = DEFAULT_SIZE) {
    this.#sink = sink;
    this.#buf = new Uint8Array(size);
  }

  /** Bytes accepted and not yet written to the sink. */
  get buffered(): number {
    return this.#used;
  }

  /**
   * Accepts `bytes`; writes to the sink only when the buffer fills up. Large
   * writes (half the buffer or more) go straight to the sink, uncopied, after
   * what is buffered.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length >= this.#buf.length / 2) {
      await this.flush();
      await writeAll(this.#sink, bytes);
      return;
    }
    if (bytes.length > this.#buf.length - this.#used) await this.flush();
    this.#buf.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  /** Writes out everything buffered. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await writeAll(this.#sink, this.#buf.subarray(0, this.#used));
    this.#used = 0;
  }
}
