/**
 * Sets of bytes, and finding fast the run of complete lines made only of
 * them: the fast path for bulk traffic.
 *
 * Scanning uses the WebAssembly SIMD scanner of `plain_scan.wat`, sixteen
 * bytes at a time; JavaScript looking at every byte was most of the cost of
 * moving a large file. A class is described to the scanner by two nibble
 * tables, which fit any set whose sixteen rows (one per high nibble) come in
 * at most eight different shapes; every class parley uses does.
 *
 * @module
 */

import { PLAIN_SCAN_WASM_BASE64 } from "./plain_scan_wasm.ts";

/** The most bytes one scan looks at. */
export const SCAN_WINDOW = 64 * 1024;

const LF = 0x0a;
/** Where the scanner's memory holds the block to scan (after the two tables). */
const BLOCK_OFFSET = 64;

/** What a scan found at the start of a block. */
export interface LineScan {
  /** Offset just after the last `\n` of the run of complete lines; 0 when there is none. */
  end: number;
  /** How many lines the run holds. */
  lines: number;
  /** True when the scan stopped at a byte outside the class (in the line after the run). */
  stopped: boolean;
}

interface ScannerExports {
  memory: WebAssembly.Memory;
  scan(length: number): number;
  lines: WebAssembly.Global;
}

let compiled: WebAssembly.Module | undefined;

function scannerModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(PLAIN_SCAN_WASM_BASE64), (char) => char.charCodeAt(0)));
  return compiled;
}

/** A set of bytes. `\n` is never in it: it ends lines. */
export class ByteClass {
  #table: Uint8Array;
  #scanner: ScannerExports;
  #memory: Uint8Array;

  private constructor(table: Uint8Array) {
    this.#table = table;
    this.#scanner = new WebAssembly.Instance(scannerModule()).exports as unknown as ScannerExports;
    this.#memory = new Uint8Array(this.#scanner.memory.buffer);
    this.#memory.set(nibbleTables(table));
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
   * Finds the run of complete lines, each of bytes in the class and ending in
   * `\n`, at the start of `bytes` (at most {@linkcode SCAN_WINDOW} bytes).
   */
  scanLines(bytes: Uint8Array): LineScan {
    if (bytes.length > SCAN_WINDOW) throw new RangeError(`cannot scan more than ${SCAN_WINDOW} bytes at once`);
    this.#memory.set(bytes, BLOCK_OFFSET);
    // The scanner finds where the class ends and counts the lines before;
    // the run ends at the last of those lines.
    const stop = this.#scanner.scan(bytes.length);
    const lines = this.#scanner.lines.value as number;
    const end = lines === 0 ? 0 : bytes.lastIndexOf(LF, stop - 1) + 1;
    return { end, lines, stopped: stop < bytes.length };
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
