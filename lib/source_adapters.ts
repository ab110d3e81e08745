/**
 * Byte sources built on other byte sources: one that first hands out bytes
 * already read (by a handshake), and one that checks the first bytes that
 * arrive (to recognise TLS where plain text was expected).
 *
 * @module
 */

import type { ByteSource } from "./line_reader.ts";

/** Hands out `prefix` first, then reads from `source`. */
export class PrefixedSource implements ByteSource {
  #prefix: Uint8Array;
  #source: ByteSource;

  /** Creates a source that yields `prefix`, then everything from `source`. */
  constructor(prefix: Uint8Array, source: ByteSource) {
    this.#prefix = prefix;
    this.#source = source;
  }

  /** Copies prefix bytes while any are left, then reads from the source. */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#prefix.length === 0) return this.#source.read(p);
    const n = Math.min(p.length, this.#prefix.length);
    p.set(this.#prefix.subarray(0, n));
    this.#prefix = this.#prefix.subarray(n);
    return Promise.resolve(n);
  }
}

/**
 * Passes reads through, but shows the first bytes that arrive to `check`,
 * which may throw to fail the read (and with it the conversation).
 */
export class CheckedSource implements ByteSource {
  #source: ByteSource;
  #check: ((first: Uint8Array) => Promise<void>) | undefined;

  /** Creates a source over `source` whose first bytes go to `check`. */
  constructor(source: ByteSource, check: (first: Uint8Array) => Promise<void>) {
    this.#source = source;
    this.#check = check;
  }

  /** Reads from the source; the first read with data is checked. */
  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#source.read(p);
    const check = this.#check;
    if (n !== null && n > 0 && check !== undefined) {
      this.#check = undefined;
      await check(p.subarray(0, n));
    }
    return n;
  }
}
