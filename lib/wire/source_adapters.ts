/**
 * Byte sources built on other byte sources: one that first hands out bytes
 * already read (by a handshake), and one that checks how the stream starts
 * (to recognise TLS where plain text was expected, or a server turning us
 * away).
 *
 * @module
 */

import type { Reader } from "../io/types.ts";
import { CHECKED_BYTES } from "./protocol.ts";

/** Hands out `prefix` first, then reads from `source`. */
export class PrefixedSource implements Reader {
  #prefix: Uint8Array;
  #source: Reader;

  /** Creates a source that yields `prefix`, then everything from `source`. */
  constructor(prefix: Uint8Array, source: Reader) {
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
 * Passes reads through, but first shows the start of the stream to `check`,
 * which may throw to fail the read (and with it the conversation). The start
 * is the first line, or its first {@linkcode CHECKED_BYTES} bytes, however
 * many reads it takes to arrive — or less, as soon as `enough` says the
 * bytes so far decide (a TLS record, which has no line end, says so in two).
 */
export class CheckedSource implements Reader {
  #source: Reader;
  #check: ((start: Uint8Array) => Promise<void>) | undefined;
  #enough: (start: Uint8Array) => boolean;
  #start: Uint8Array = new Uint8Array(0);

  /** Creates a source over `source` whose start goes to `check`. */
  constructor(
    source: Reader,
    check: (start: Uint8Array) => Promise<void>,
    enough: (start: Uint8Array) => boolean = () => false,
  ) {
    this.#source = source;
    this.#check = check;
    this.#enough = enough;
  }

  /** Reads from the source; the start is gathered and checked before anything is handed out. */
  async read(p: Uint8Array): Promise<number | null> {
    const check = this.#check;
    if (check !== undefined) {
      this.#check = undefined;
      this.#start = await this.#gatherStart();
      if (this.#start.length > 0) await check(this.#start);
    }
    if (this.#start.length === 0) return this.#source.read(p);
    const n = Math.min(p.length, this.#start.length);
    p.set(this.#start.subarray(0, n));
    this.#start = this.#start.subarray(n);
    return n;
  }

  /** Reads until the first line is complete, CHECKED_BYTES are in, the start decides, or the stream ends. */
  async #gatherStart(): Promise<Uint8Array> {
    const start = new Uint8Array(CHECKED_BYTES);
    let length = 0;
    while (
      length < CHECKED_BYTES && !start.subarray(0, length).includes(0x0a) && !this.#enough(start.subarray(0, length))
    ) {
      const n = await this.#source.read(start.subarray(length));
      if (n === null) break;
      length += n;
    }
    return start.subarray(0, length);
  }
}
