/**
 * Sets of bytes that lines may be made of, described so that the SIMD
 * scanner of `plain_scan.wat` can test sixteen bytes at a time.
 *
 * A class is given to the scanner as two nibble tables, which fit any set
 * whose sixteen rows (one per high nibble) come in at most eight different
 * shapes; every class parley uses does.
 *
 * @module
 */

const LF = 0x0a;

/** A set of bytes. `\n` is never in it: it ends lines. */
export class ByteClass {
  #table: Uint8Array;
  #tables: Uint8Array;

  private constructor(table: Uint8Array) {
    this.#table = table;
    // The scanner counts "\n" among the bytes it lets pass.
    const withNewline = table.slice();
    withNewline[LF] = 1;
    this.#tables = nibbleTables(withNewline);
  }

  /**
   * The class of the bytes `accept` takes.
   *
   * @throws {RangeError} when the set cannot be described to the scanner.
   */
  static of(accept: (byte: number) => boolean): ByteClass {
    const table = new Uint8Array(256);
    for (let byte = 0; byte < 256; byte++) table[byte] = byte !== LF && accept(byte) ? 1 : 0;
    return new ByteClass(table);
  }

  /** True when `byte` is in the class. */
  has(byte: number): boolean {
    return this.#table[byte] === 1;
  }

  /**
   * The scanner's two tables, low nibbles then high nibbles (32 bytes), for
   * the class with `\n` added.
   */
  get scannerTables(): Uint8Array {
    return this.#tables;
  }
}

/**
 * The scanner's two tables for `table`: byte b is in the class when
 * `low[b & 15] & high[b >> 4]` is not 0. Each distinct shape of a row (the
 * low nibbles allowed under one high nibble) gets a bit of its own.
 */
function nibbleTables(table: Uint8Array): Uint8Array {
  const tables = new Uint8Array(32);
  const shapes: string[] = [];
  for (let high = 0; high < 16; high++) {
    const row = table.subarray(high * 16, high * 16 + 16);
    if (row.every((allowed) => allowed === 0)) continue;
    const shape = row.join("");
    let bit = shapes.indexOf(shape);
    if (bit < 0) bit = shapes.push(shape) - 1;
    if (bit >= 8) throw new RangeError("a byte class may have at most eight different rows of sixteen");
    tables[16 + high] = 1 << bit;
    row.forEach((allowed, low) => tables[low] |= allowed << bit);
  }
  return tables;
}
